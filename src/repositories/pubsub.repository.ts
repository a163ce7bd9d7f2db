import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ConfigRepository } from './config.repository';
import { redisClient } from './lease-store.provider';

/**
 * A message for live pages: to everyone subscribed to `topic`, or, with
 * `owner` set, only to that owner's connections (owner is the pseudonym,
 * never an employee id).
 */
export interface LiveMessage {
  topic: string;
  event: string;
  data: unknown;
  owner?: string;
}

/** What travels on the channel: the message and the replica that sent it. */
export interface LiveEnvelope extends LiveMessage {
  origin: string;
}

export type LiveListener = (msg: LiveEnvelope) => void;

/** How often a replica re-announces the owners it has live connections for; an announcement holds three periods. */
export const WATCH_REFRESH_MS = 30_000;
const WATCH_TTL_MS = 3 * WATCH_REFRESH_MS;
/** Control messages between replicas (never delivered to a page): which owners have live connections where. */
const WATCH_TOPIC = '$watch';
const WATCH_BATCH = 1000;

/** The one channel all replicas of one deployment share (the Redis key prefix keeps deployments and tests apart). */
export function liveChannel(keyPrefix: string): string {
  return `${keyPrefix}live`;
}

/**
 * Cross-replica fan-out for the WebSocket gateway. With Redis configured,
 * every message goes through Redis pub/sub — also back to the replica that
 * sent it — so a page on any replica sees every replica's changes in the same
 * order. Without Redis (the embedded store, one replica) it stays in process.
 *
 * Delivery is at most once: a message published while Redis is unreachable
 * is dropped (and logged); pages heal with the next periodic refresh.
 *
 * Owners watched: a message for one owner goes out only while that owner has a
 * live connection on some replica (`watched`), so 60,000 grants and releases of
 * employees without an open page cost no publish at all. Each replica announces
 * the owners of its connections on the channel (at once, on a new replica's
 * hello, and every WATCH_REFRESH_MS); an announcement it no longer renews
 * lapses after three periods (a replica that died).
 */
@Injectable()
export class PubSubRepository implements OnApplicationShutdown {
  private readonly log = new Logger(PubSubRepository.name);
  private readonly local = new EventEmitter();
  private readonly pub: Redis | Cluster | null;
  private readonly sub: Redis | Cluster | null;
  private readonly channel: string;
  private subscribed: Promise<unknown> | null = null;
  private closing = false;
  /** Identifies this replica in envelopes (for logs and tests, not for routing). */
  readonly origin = randomUUID();
  /** Owners with live connections here → how many subscriptions. */
  private readonly localWatch = new Map<string, number>();
  /** Owners with live connections on other replicas → origin → until (this replica's clock). */
  private readonly remoteWatch = new Map<string, Map<string, number>>();
  private refresh: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(config: ConfigRepository) {
    const { redis, redisKeyPrefix } = config.get();
    this.channel = liveChannel(redisKeyPrefix);
    this.local.setMaxListeners(100);
    if (redis) {
      // A subscribed connection can do nothing else, hence two (standalone, Sentinel or Cluster, as the store).
      // No offline queue: a live update that cannot go out now is stale by the time Redis is back.
      this.pub = redisClient(redis, { connectionName: 'broker-live-pub', enableOfflineQueue: false });
      // The subscription is renewed here after a reconnect, not by ioredis: its own re-subscribe leaves the
      // SUBSCRIBE's promise unhandled, and a shutdown before the reply then rejects it ("Connection is closed")
      // as an unhandled rejection.
      this.sub = redisClient(redis, { lazyConnect: true, connectionName: 'broker-live-sub', maxRetriesPerRequest: null, autoResubscribe: false });
      for (const c of [this.pub, this.sub]) c.on('error', (e: Error) => this.log.warn(`live pub/sub: ${e.message}`));
      let connectedBefore = false;
      this.sub.on('ready', () => {
        // The first connection carries start()'s own SUBSCRIBE; later ones need it again.
        if (connectedBefore && this.subscribed && this.sub && !this.closing) {
          this.sub.subscribe(this.channel).catch((e: Error) => this.log.warn(`live pub/sub: re-subscribing failed: ${e.message}`));
        }
        connectedBefore = true;
      });
      this.sub.on('message', (channel: string, text: string) => {
        if (channel !== this.channel) return;
        let env: LiveEnvelope;
        try {
          env = JSON.parse(text) as LiveEnvelope;
        } catch {
          this.log.warn('live pub/sub: dropped a message that is not JSON');
          return;
        }
        if (env.topic === WATCH_TOPIC) this.onWatchMessage(env);
        else this.local.emit('message', env);
      });
    } else {
      this.pub = null;
      this.sub = null;
    }
  }

  get mode(): 'redis' | 'in-process' {
    return this.pub ? 'redis' : 'in-process';
  }

  /**
   * Starts receiving (subscribes to the Redis channel once). Resolves when
   * messages published from now on will arrive and publishing works; the
   * subscription is renewed after each reconnect. Callers at start-up should not
   * wait for it: with Redis down it resolves only once Redis is back.
   */
  start(): Promise<void> {
    if (!this.sub || !this.pub) return Promise.resolve();
    const pub = this.pub;
    const pubReady = pub.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => pub.once('ready', () => resolve()));
    this.subscribed ??= Promise.all([this.sub.subscribe(this.channel), pubReady]).then(async () => {
      if (this.closed) return;
      this.refresh = setInterval(() => void this.announceAll().then(() => this.sweepWatch()), WATCH_REFRESH_MS);
      this.refresh.unref();
      await this.control('hello', []);
      await this.announceAll();
    });
    return this.subscribed.then(() => undefined);
  }

  /**
   * A live connection of `owner` here (one per owner-scoped subscription). Resolves once the
   * other replicas have been told, so a page can read its initial state after that.
   */
  watch(owner: string): Promise<void> {
    const n = this.localWatch.get(owner) ?? 0;
    this.localWatch.set(owner, n + 1);
    return n === 0 ? this.control('watch', [owner]) : Promise.resolve();
  }

  /** The end of one `watch`. */
  unwatch(owner: string): void {
    const n = this.localWatch.get(owner) ?? 0;
    if (n > 1) {
      this.localWatch.set(owner, n - 1);
      return;
    }
    this.localWatch.delete(owner);
    void this.control('gone', [owner]);
  }

  /** Whether `owner` has a live connection on any replica (as far as this replica has heard). */
  watched(owner: string): boolean {
    if (this.localWatch.has(owner)) return true;
    const by = this.remoteWatch.get(owner);
    if (!by) return false;
    const now = Date.now();
    for (const [origin, until] of by) {
      if (until > now) return true;
      by.delete(origin);
    }
    this.remoteWatch.delete(owner);
    return false;
  }

  private async control(event: 'hello' | 'watch' | 'gone', owners: string[]): Promise<void> {
    if (!this.pub || this.closed) return;
    try {
      await this.pub.publish(this.channel, JSON.stringify({ topic: WATCH_TOPIC, event, data: owners, origin: this.origin }));
    } catch (e) {
      this.log.warn(`live pub/sub: watch announcement dropped: ${(e as Error).message}`);
    }
  }

  private async announceAll(): Promise<void> {
    const owners = [...this.localWatch.keys()];
    for (let i = 0; i < owners.length; i += WATCH_BATCH) await this.control('watch', owners.slice(i, i + WATCH_BATCH));
  }

  private onWatchMessage(env: LiveEnvelope): void {
    if (env.origin === this.origin || !Array.isArray(env.data)) return;
    if (env.event === 'hello') {
      void this.announceAll();
      return;
    }
    const until = Date.now() + WATCH_TTL_MS;
    for (const owner of env.data) {
      if (typeof owner !== 'string') continue;
      let by = this.remoteWatch.get(owner);
      if (env.event === 'watch') {
        if (!by) this.remoteWatch.set(owner, (by = new Map()));
        by.set(env.origin, until);
      } else if (by) {
        by.delete(env.origin);
        if (by.size === 0) this.remoteWatch.delete(owner);
      }
    }
  }

  private sweepWatch(): void {
    for (const owner of this.remoteWatch.keys()) this.watched(owner);
  }

  /** Registers a listener for every message of every replica; returns the function that removes it. */
  onMessage(listener: LiveListener): () => void {
    this.local.on('message', listener);
    return () => this.local.off('message', listener);
  }

  async publish(msg: LiveMessage): Promise<void> {
    const env: LiveEnvelope = { ...msg, origin: this.origin };
    if (!this.pub) {
      this.local.emit('message', env);
      return;
    }
    try {
      await this.pub.publish(this.channel, JSON.stringify(env));
    } catch (e) {
      this.log.warn(`live pub/sub: message on topic ${msg.topic} dropped: ${(e as Error).message}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (this.refresh) clearInterval(this.refresh);
    if (this.pub?.status === 'ready' && this.localWatch.size > 0) await this.control('gone', [...this.localWatch.keys()]);
    this.closed = true;
    await Promise.all(
      [this.pub, this.sub].map(async (c) => {
        if (!c) return;
        // quit() on a client that is not connected would connect (lazyConnect) or wait for a reconnect.
        if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
        else c.disconnect();
      }),
    );
    this.local.removeAllListeners();
  }
}
