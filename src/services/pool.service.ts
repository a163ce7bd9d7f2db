import { Inject, Injectable } from '@nestjs/common';
import type { PoolSnapshot } from '../domain/grant';
import { ConfigRepository } from '../repositories/config.repository';
import { LEASE_STORE, type LeasePort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';
import { failureError, storeCall } from './lease-errors';

/** Reads of pool capacity and occupancy. */
@Injectable()
export class PoolService {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeasePort,
    private readonly config: ConfigRepository,
    private readonly events: BrokerEvents,
  ) {}

  poolIds(): string[] {
    return this.config.get().broker.pools.map((p) => p.id);
  }

  async snapshot(pool: string): Promise<PoolSnapshot> {
    const r = await storeCall(this.events, 'snapshot', () => this.store.snapshot(pool));
    if (!r.ok) throw failureError(r.failure);
    return r.value;
  }

  async snapshots(): Promise<PoolSnapshot[]> {
    return Promise.all(this.poolIds().map((p) => this.snapshot(p)));
  }
}
