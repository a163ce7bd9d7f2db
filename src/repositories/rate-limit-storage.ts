import type { ThrottlerStorage } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';

/**
 * Adds `delta` hits to one budget's window in Redis and answers what every replica has spent.
 *
 *   KEYS[1] hits key (its TTL is the window), KEYS[2] block key (its TTL is the block)
 *   ARGV[1] delta, ARGV[2] window ms, ARGV[3] limit, ARGV[4] block ms
 *
 * Returns { hits in the window, ms left of the window, ms left of the block (0: none) }.
 * The first replica to see the budget spent past its limit sets the block; the others learn it from
 * their next sync. (@nest-lab/throttler-storage-redis's script, one hit at a time, did the same.)
 */
const SYNC_SCRIPT = `
local hits = redis.call('INCRBY', KEYS[1], ARGV[1])
local window_left = redis.call('PTTL', KEYS[1])
if window_left <= 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  window_left = tonumber(ARGV[2])
end
local block_left = redis.call('PTTL', KEYS[2])
if block_left <= 0 then
  block_left = 0
  if hits > tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
    block_left = tonumber(ARGV[4])
  end
end
return { hits, window_left, block_left }
`;

/** One budget of one caller, as this replica knows it. */
interface Window {
  hitKey: string;
  blockKey: string;
  windowMs: number;
  limit: number;
  blockMs: number;
  /** Epoch ms. */
  endsAt: number;
  blockedUntil: number;
  /** Hits in the window: every replica's as of the last sync, plus this replica's since. */
  hits: number;
  /** This replica's hits not yet added in Redis. */
  pending: number;
}

export interface SharedRateLimitOptions {
  /** How often the hits counted here are added in Redis and the others' learnt (ms). */
  syncMs: number;
  clock?: () => number;
}

/**
 * Request budgets (a fixed window per caller and budget, blocked for the block duration once over
 * the limit), counted in this process; with a Redis client, shared by every replica through Redis,
 * decided here without a round trip
 * (docs/security.md, "Rate limits"). Each request is counted and judged in this process against the
 * budget's hits as last learnt from Redis plus this replica's own since; every `syncMs` the hits of
 * all budgets touched are added in Redis in one batch (auto-pipelined: one socket write), and each
 * answer brings what the other replicas spent and whether one of them blocked the caller.
 *
 * So a request costs no Redis command of its own: the request's one round trip is its admission
 * script. The price is a lag: a caller spreading a flood over N replicas can spend up to what it
 * sends to the others within one sync interval beyond its budget before all of them refuse it. A
 * caller on one replica is refused at exactly its limit. Budgets at least half spent are learnt anew
 * at every sync, so for a caller near its limit that lag is one interval, whichever replica it hits. Without Redis, each replica keeps judging
 * on its own counts (so one caller gets at most the budget per replica), and `onSyncError` hears of it.
 */
export class SharedRateLimitStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private readonly dirty = new Set<Window>();
  /** Windows at least half spent: relearnt at every sync (kept apart so a sync does not walk them all). */
  private readonly hot = new Set<Window>();
  private forgotAt = 0;
  private readonly command: string;
  private readonly clock: () => number;
  private readonly timer: NodeJS.Timeout;
  private syncing: Promise<void> | null = null;
  /** Told of a sync Redis did not answer, with the budget (throttler) names it covered. */
  onSyncError: (budgets: string[], error: Error) => void = () => undefined;

  /** `client` null: one process alone (the embedded store), nothing to share; the same counting. */
  constructor(
    private readonly client: Redis | Cluster | null,
    options: SharedRateLimitOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.command = `tbRateSync_${createHash('sha1').update(SYNC_SCRIPT).digest('hex').slice(0, 12)}`;
    client?.defineCommand(this.command, { numberOfKeys: 2, lua: SYNC_SCRIPT });
    this.timer = setInterval(() => void this.sync(), client ? options.syncMs : 1_000);
    this.timer.unref();
  }

  /** Budgets of callers this replica keeps (each until its window and block are over). */
  get callersKept(): number {
    return this.windows.size;
  }

  increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const now = this.clock();
    const id = `{${key}:${throttlerName}}`;
    let w = this.windows.get(id);
    if (!w) {
      w = { hitKey: `${id}:hits`, blockKey: `${id}:blocked`, windowMs: ttl, limit, blockMs: blockDuration, endsAt: now + ttl, blockedUntil: 0, hits: 0, pending: 0 };
      this.windows.set(id, w);
    } else if (now >= w.endsAt && now >= w.blockedUntil) {
      Object.assign(w, { windowMs: ttl, limit, blockMs: blockDuration }); // the budgets may have been reconfigured
      w.endsAt = now + ttl;
      w.hits = 0;
    }
    w.hits++;
    if (this.client) {
      // What the next sync adds in Redis; alone (the embedded store) there is nothing to share.
      w.pending++;
      this.dirty.add(w);
      if (w.hits * 2 >= w.limit) this.hot.add(w);
    }
    if (w.blockedUntil <= now && w.hits > limit) w.blockedUntil = now + blockDuration;
    const blocked = w.blockedUntil > now;
    return Promise.resolve({
      totalHits: w.hits,
      timeToExpire: Math.max(0, Math.ceil((w.endsAt - now) / 1000)),
      isBlocked: blocked,
      timeToBlockExpire: blocked ? Math.ceil((w.blockedUntil - now) / 1000) : 0,
    });
  }

  /** Adds the hits counted since the last sync in Redis and learns every replica's; one at a time. */
  sync(): Promise<void> {
    if (this.syncing) return this.syncing;
    const now = this.clock();
    if (!this.client) {
      this.forgetEnded();
      return Promise.resolve();
    }
    // Budgets at least half spent are learnt anew each time, hit here or not, so a caller near its
    // limit is judged on every replica's count of one interval ago, not on that of its last hit here.
    for (const w of this.hot) {
      if (w.blockedUntil > now) continue;
      if (now >= w.endsAt) this.hot.delete(w);
      else this.dirty.add(w);
    }
    if (this.dirty.size === 0) {
      this.forgetEnded();
      return Promise.resolve();
    }
    const batch = [...this.dirty].map((w) => ({ w, sent: w.pending, at: now }));
    this.dirty.clear();
    for (const b of batch) b.w.pending = 0;
    const run = (this.client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[this.command]!;
    const failed: string[] = [];
    let error: Error | null = null;
    this.syncing = Promise.all(
      batch.map(async ({ w, sent, at }) => {
        try {
          const reply = await run.call(this.client, w.hitKey, w.blockKey, sent, w.windowMs, w.limit, w.blockMs);
          if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((n) => typeof n === 'number')) throw new TypeError(`rate-limit sync replied ${JSON.stringify(reply)}`);
          const [hits, windowLeft, blockLeft] = reply as [number, number, number];
          w.hits = Math.max(w.hits, hits + w.pending);
          w.endsAt = at + windowLeft;
          if (blockLeft > 0) w.blockedUntil = Math.max(w.blockedUntil, at + blockLeft);
          if (w.hits * 2 >= w.limit) this.hot.add(w);
        } catch (e) {
          // Counted again with the next sync; meanwhile this replica judges on its own counts.
          w.pending += sent;
          this.dirty.add(w);
          failed.push(w.hitKey);
          error = e as Error;
        }
      }),
    ).then(() => {
      this.syncing = null;
      if (error) this.onSyncError([...new Set(failed.map(budgetOfKey))], error);
      this.forgetEnded();
    });
    return this.syncing;
  }

  /** Nest's shutdown hook (the storage is a provider of ThrottlerModule). */
  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  /** Stops syncing; the last hits go to Redis first if it answers. The client is this storage's own. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sync().catch(() => undefined);
    this.client?.disconnect();
  }

  /** Drops windows over and done with, once a second at most (a walk over every caller seen lately). */
  private forgetEnded(): void {
    const now = this.clock();
    if (now - this.forgotAt < 1_000) return;
    this.forgotAt = now;
    for (const [id, w] of this.windows) {
      if (now >= w.endsAt && now >= w.blockedUntil && w.pending === 0) {
        this.windows.delete(id);
        this.hot.delete(w);
      }
    }
  }
}

/** `{<prefix>rl:<budget>:<hash>:<budget>}:hits` → the budget. */
function budgetOfKey(hitKey: string): string {
  return /:([a-z-]+)\}:hits$/.exec(hitKey)?.[1] ?? 'unknown';
}
