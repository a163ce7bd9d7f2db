import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ConfigRepository } from '../repositories/config.repository';
import { LEASE_STORE, type LeasePort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';

const SWEEP_BATCH = 1000;
/** Sweeps are at least this far apart, however soon the next lease expires. */
export const MIN_SWEEP_GAP_MS = 250;

/**
 * Reclaims leases nobody renewed, looping until a pool has none left. A sweep runs when the
 * soonest lease of any pool expires (the store says when), at most `leases.sweepIntervalSeconds`
 * and at least MIN_SWEEP_GAP_MS after the last: capacity returns a quarter of a second after a
 * lease ends instead of up to a whole interval later, and a store that cannot say (Redis away)
 * is tried again at the interval. Every replica sweeps; reaping is atomic in the store, so two
 * sweeps never reclaim the same lease twice.
 */
@Injectable()
export class SweeperService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SweeperService.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    @Inject(LEASE_STORE) private readonly store: LeasePort,
    private readonly config: ConfigRepository,
    private readonly events: BrokerEvents,
  ) {}

  onApplicationBootstrap(): void {
    void this.nextSweepIn().then((ms) => this.schedule(ms));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private intervalMs(): number {
    return this.config.get().broker.leases.sweepIntervalSeconds * 1000;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    await this.sweep();
    this.schedule(await this.nextSweepIn());
  }

  /** Until the soonest expiry of any pool, within [MIN_SWEEP_GAP_MS, the interval]. */
  async nextSweepIn(): Promise<number> {
    const interval = this.intervalMs();
    let soonest = interval;
    for (const pool of this.config.get().broker.pools.map((p) => p.id)) {
      try {
        const ms = await this.store.nextExpiryIn(pool);
        // +1 ms: the store counts on its own clock (Redis TIME), which may run a little behind this timer.
        if (ms !== null) soonest = Math.min(soonest, ms + 1);
      } catch {
        // The store is away: the sweep itself says so (warn); look again at the interval.
      }
    }
    return Math.min(interval, Math.max(MIN_SWEEP_GAP_MS, soonest));
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
