import { Injectable } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import type { Grant, RefusalCode } from '../domain/grant';

/**
 * Domain events of this replica, for observers that must not sit on the
 * request path (metrics, audit, live pages). Emitting is synchronous and
 * observers must not throw. Labels carry pool, member and agency only — never
 * an employee id or pseudonym. The grant and owner fields are for the owner's
 * own live page (GrantsFeedService) and must not reach a metric label or a log.
 */
export interface BrokerEventMap {
  granted: { pool: string; agency: string; member: string; outcome: 'created' | 'reconnected' | 'replayed'; durationMs: number; grant: Grant };
  refused: { pool: string; agency: string; code: RefusalCode; durationMs: number };
  renewed: { pool: string; member: string; count: number };
  /** By its holder, an operator, or a gateway agent's report (a bulk renewal knows no more of the lease than this). */
  released: { pool: string; agency: string; member: string; grant: Pick<Grant, 'id' | 'pool' | 'member' | 'agency' | 'owner'> };
  expired: { pool: string; agency: string; member: string; id: string; owner: string };
  /** An agent's bulk renewal of one member, with what it did (the circuit breaker watches for mass loss). */
  bulkRenewed: { pool: string; member: string; renewed: number; released: number; expired: number };
  /** A pool's definition changed at runtime (operator, circuit breaker, schedule): capacity pages refresh it. */
  poolChanged: { pool: string; action: string };
  /** Latency of one store operation, for the store round-trip histogram; `unconfirmed`: a write its replicas did not confirm. */
  storeCall: { operation: string; durationMs: number; ok: boolean; unconfirmed: boolean };
}

@Injectable()
export class BrokerEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(50);
  }

  emit<K extends keyof BrokerEventMap>(event: K, payload: BrokerEventMap[K]): void {
    this.emitter.emit(event, payload);
  }

  on<K extends keyof BrokerEventMap>(event: K, listener: (payload: BrokerEventMap[K]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }
}
