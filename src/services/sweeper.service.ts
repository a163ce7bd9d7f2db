import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ConfigRepository } from '../repositories/config.repository';
import { LEASE_STORE, type LeasePort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';

const SWEEP_BATCH = 1000;

/**
 * Reclaims leases nobody renewed, every `leases.sweepIntervalSeconds`, looping
 * until a pool has none left. Every replica sweeps; reaping is atomic in the
 * store, so two sweeps never reclaim the same lease twice.
 */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SweeperService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    @Inject(LEASE_STORE) private readonly store: LeasePort,
    private readonly config: ConfigRepository,
    private readonly events: BrokerEvents,
  ) {}

  onApplicationBootstrap(): void {
    const everyMs = this.config.get().broker.leases.sweepIntervalSeconds * 1000;
    this.timer = setInterval(() => void this.sweep(), everyMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep over every pool; returns how many leases were reclaimed. Overlapping calls share one run. */
  sweep(): Promise<number> {
    if (!this.running) {
      this.running = this.sweepAll().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async sweepAll(): Promise<number> {
    let total = 0;
    for (const pool of this.config.get().broker.pools.map((p) => p.id)) {
      try {
        for (;;) {
          const expired = await this.store.reap(pool, SWEEP_BATCH);
          for (const e of expired) this.events.emit('expired', { pool: e.pool, agency: e.agency, member: e.member, id: e.id, owner: e.owner });
          total += expired.length;
          if (expired.length < SWEEP_BATCH) break;
          // Requests get a turn between batches: the embedded store reaps in this process, and
          // 60,000 leases expiring at once were one 1.1 s task that every request waited behind.
          await nextTurn();
        }
      } catch (e) {
        this.logger.warn(`sweep of pool ${pool} failed: ${(e as Error).message}`);
      }
    }
    return total;
  }
}
