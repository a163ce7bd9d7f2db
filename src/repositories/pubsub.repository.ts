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
        this.local.emit('message', env);
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
    this.subscribed ??= Promise.all([this.sub.subscribe(this.channel), pubReady]);
    return this.subscribed.then(() => undefined);
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
