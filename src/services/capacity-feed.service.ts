import { Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { poolView, type PoolView } from '../dtos/pool.dto';
import { BrokerEvents } from './broker-events';
import { LiveUpdatesService } from './live-updates.service';
import { PoolService } from './pool.service';

export const CAPACITY_TOPIC = 'capacity';

/** A pool as the live capacity page shows it: the REST pool view plus the waiting line. */
export type LivePoolView = PoolView & { waiting: number };

export interface CapacityFeedOptions {
  /** Changes of one pool are gathered for this long, then one snapshot goes out. */
  flushMs: number;
  /** Every replica re-sends the pools to its own subscribers this often (drains, config changes, lost messages). */
  refreshMs: number;
}

export const CAPACITY_FEED_OPTIONS: CapacityFeedOptions = { flushMs: 500, refreshMs: 5_000 };

/**
 * Feeds the `capacity` topic: pool, member and agency figures, member states
 * and waiting lines. A grant, release or expiry on this replica marks its pool;
 * at most every `flushMs` the replica reads one snapshot of each marked pool
 * from the store and publishes it to every replica. Snapshots carry the store
 * time `at`; pages keep the newest per pool, so replicas' messages may cross.
 */
@Injectable()
export class CapacityFeedService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(CapacityFeedService.name);
  private readonly dirty = new Set<string>();
  private readonly unsubscribe: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private options = CAPACITY_FEED_OPTIONS;

  constructor(
    private readonly live: LiveUpdatesService,
    private readonly events: BrokerEvents,
    private readonly pools: PoolService,
  ) {}

  /** Tests shorten the intervals; call before the application starts. */
  configure(options: Partial<CapacityFeedOptions>): void {
    this.options = { ...this.options, ...options };
  }

  onModuleInit(): void {
    this.live.defineTopic({
      name: CAPACITY_TOPIC,
      scope: 'broadcast',
      initial: async () => (await this.views()).map((data) => ({ event: 'pool', data })),
    });
  }

  onApplicationBootstrap(): void {
    const mark = (p: { pool: string }) => this.mark(p.pool);
    this.unsubscribe.push(this.events.on('granted', mark), this.events.on('released', mark), this.events.on('expired', mark), this.events.on('poolChanged', mark));
    this.refreshTimer = setInterval(() => void this.refreshLocal(), this.options.refreshMs);
    this.refreshTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.refreshTimer = this.flushTimer = null;
    await this.flushing;
  }

  /** Every configured pool as the page shows it. */
  async views(): Promise<LivePoolView[]> {
    return Promise.all(this.pools.poolIds().map((p) => this.view(p)));
  }

  private async view(pool: string): Promise<LivePoolView> {
    const snapshot = await this.pools.snapshot(pool);
    return { ...poolView(snapshot), waiting: snapshot.waiting ?? 0 };
  }

  private mark(pool: string): void {
    this.dirty.add(pool);
    if (!this.flushTimer && this.refreshTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flushing = this.flush().finally(() => (this.flushing = null));
      }, this.options.flushMs);
      this.flushTimer.unref();
    }
  }

  private async flush(): Promise<void> {
    const pools = [...this.dirty];
    this.dirty.clear();
    await Promise.all(
      pools.map(async (pool) => {
        try {
          await this.live.publish(CAPACITY_TOPIC, 'pool', await this.view(pool));
        } catch (e) {
          this.log.warn(`capacity of pool ${pool} not published: ${(e as Error).message}`);
        }
      }),
    );
  }

  private async refreshLocal(): Promise<void> {
    if (this.live.localSubscribers(CAPACITY_TOPIC) === 0) return;
    try {
      for (const v of await this.views()) this.live.deliverLocally(CAPACITY_TOPIC, 'pool', v);
    } catch (e) {
      this.log.warn(`capacity refresh failed: ${(e as Error).message}`);
    }
  }
}
