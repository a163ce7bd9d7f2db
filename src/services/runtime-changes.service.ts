import { Inject, Injectable, Logger } from '@nestjs/common';
import { applyOverrides, poolSpecProblems, type PoolLayers, type PoolOverrides } from '../domain/pool-overrides';
import { BrokerError } from '../errors/error-codes';
import { LEASE_STORE, type OperatorAudit, type PoolLayerPort, type StorePort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';
import { failureError, storeCall } from './lease-errors';

/** What a change makes of the pool's overrides, and the audit record written with it; null: nothing to change. */
export type ChangeBuilder = (layers: PoolLayers, now: number) => { overrides: PoolOverrides; audit: OperatorAudit } | null;

export interface ChangeResult {
  /** The layers after the change (or as they were, if nothing changed). */
  layers: PoolLayers;
  changed: boolean;
}

/** Compare-and-set attempts before a change gives up with 'concurrent-change'. */
const TRIES = 10;

/**
 * The one way a pool's definition changes at runtime, for operators, the
 * circuit breaker and schedules alike: read the layers, build the new
 * overrides, check the result against the config file's rules, and write it
 * with its audit record in one compare-and-set step (retried when another
 * change landed first). The store applies it to every replica at once: every
 * admission reads the effective definition.
 */
@Injectable()
export class RuntimeChangesService {
  private readonly log = new Logger(RuntimeChangesService.name);

  constructor(
    @Inject(LEASE_STORE) private readonly store: PoolLayerPort & StorePort,
    private readonly events: BrokerEvents,
  ) {}

  async layers(pool: string): Promise<PoolLayers> {
    const layers = await this.call('getPoolLayers', () => this.store.getPoolLayers(pool));
    if (!layers) throw failureError('unknown-pool');
    return layers;
  }

  /**
   * Applies `build` to the pool's current layers. A result that breaks a rule
   * the pool did not already break is refused with 'capacity-rule-violated'
   * (nothing changes), so a change that only takes a member out is never
   * blocked by an older problem.
   */
  async change(pool: string, build: ChangeBuilder): Promise<ChangeResult> {
    for (let i = 0; i < TRIES; i++) {
      const layers = await this.layers(pool);
      const now = await this.call('now', () => this.store.now());
      const next = build(layers, now);
      if (!next) return { layers, changed: false };
      const before = new Set(poolSpecProblems(layers.effective).map((p) => `${p.path} ${p.message}`));
      const added = poolSpecProblems(applyOverrides(layers.base, next.overrides)).filter((p) => !before.has(`${p.path} ${p.message}`));
      if (added.length > 0) {
        throw new BrokerError('capacity-rule-violated', added.map((p) => `${p.path.slice(1)}: ${p.message}`).join('; '), { errors: added });
      }
      const r = await this.call('setPoolOverrides', () => this.store.setPoolOverrides(pool, next.overrides, layers.revision, next.audit));
      if (!r.ok) throw failureError(r.failure);
      if (r.value.applied) {
        this.events.emit('poolChanged', { pool, action: next.audit.act ?? 'change' });
        // `by` names the operator's pseudonym; the log names only the kind of author.
        const author = next.audit.by?.includes(':') || next.audit.by === 'circuit-breaker' ? next.audit.by : 'operator';
        this.log.log(`pool ${pool}: ${next.audit.act}${next.audit.m ? ` of member ${next.audit.m}` : ''} by ${author}`);
        return {
          layers: { base: layers.base, overrides: next.overrides, effective: r.value.effective, revision: r.value.revision },
          changed: true,
        };
      }
    }
    throw new BrokerError('concurrent-change', `other changes of pool ${pool} kept landing first; read it again and retry`);
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return storeCall(this.events, operation, fn);
  }
}
