import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { hasRole, type Principal } from '../auth/principal';
import type { Role } from '../auth/token-minter';
import { BrokerError } from '../errors/error-codes';
import { PubSubRepository, type LiveEnvelope } from '../repositories/pubsub.repository';

/** One message as a WebSocket client receives it: `{ "event": "<topic>.<event>", "data": ... }`. */
export interface LiveEvent {
  event: string;
  data: unknown;
}

export interface TopicDefinition {
  name: string;
  /**
   * broadcast: every subscriber receives every message of the topic;
   * owner: a subscriber receives only messages addressed to them (their own grants, their place in line).
   */
  scope: 'broadcast' | 'owner';
  /** Roles that may subscribe; any authenticated caller when absent. */
  roles?: Role[];
  /** The current state, sent to a new subscriber at once (events without the topic prefix). */
  initial?: (who: Principal) => Promise<LiveEvent[]>;
  /**
   * What a subscriber's ping means for this topic beyond "still connected" (the waiting room:
   * a check-in, so an open page keeps its place in line). Answers go out as ordinary
   * messages of the topic; a failure is logged, never sent back.
   */
  onPing?: (who: Principal) => Promise<void>;
}

/** The gateway of this replica, as the service sees it. */
export interface LiveSink {
  /** Hands a message to the matching local connections. */
  deliver(msg: LiveEnvelope): void;
  /** Local connections subscribed to a topic. */
  subscribers(topic: string): number;
  /** Open connections on this replica. */
  connections(): number;
}

const TOPIC = /^[a-z][a-z0-9-]{0,31}$/;
const EVENT = /^[a-z][a-z0-9.-]{0,63}$/;

/**
 * The one service other services call to push something to live pages.
 *
 *   live.defineTopic({ name: 'waiting', scope: 'owner', initial: (who) => ... })
 *   live.publish('capacity', 'pool', view)              // every subscriber, on every replica
 *   live.publishToOwner('grants', owner, 'grant', view) // that owner's connections only
 *
 * Messages go through PubSubRepository (Redis pub/sub with several replicas),
 * so they reach connections on every replica. The gateway (src/gateways/live.gateway.ts)
 * attaches itself as the sink for this replica's connections.
 */
@Injectable()
export class LiveUpdatesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger(LiveUpdatesService.name);
  private readonly topics = new Map<string, TopicDefinition>();
  private sink: LiveSink | null = null;
  private off: (() => void) | null = null;

  constructor(private readonly pubsub: PubSubRepository) {}

  onApplicationBootstrap(): void {
    this.off = this.pubsub.onMessage((msg) => this.sink?.deliver(msg));
    // Not awaited: with Redis down at start-up the broker still starts; ioredis subscribes once it is back.
    this.pubsub.start().catch((e: Error) => this.log.warn(`live updates: subscribing failed: ${e.message}`));
  }

  onModuleDestroy(): void {
    this.off?.();
    this.off = null;
  }

  /** Resolves once messages from every replica arrive here (tests and start-up checks). */
  ready(): Promise<void> {
    return this.pubsub.start();
  }

  defineTopic(def: TopicDefinition): void {
    if (!TOPIC.test(def.name)) throw new Error(`invalid topic name "${def.name}"`);
    if (this.topics.has(def.name)) throw new Error(`topic "${def.name}" is defined twice`);
    this.topics.set(def.name, def);
  }

  topic(name: string): TopicDefinition | undefined {
    return this.topics.get(name);
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** Checks that `who` may subscribe to `name`; throws forbidden / validation-failed. */
  authorise(who: Principal, name: string): TopicDefinition {
    const def = this.topics.get(name);
    if (!def) throw new BrokerError('validation-failed', `no topic "${name}"; topics: ${this.topicNames().join(', ')}`);
    if (def.roles && !hasRole(who, ...def.roles)) throw new BrokerError('forbidden', `topic "${name}" needs one of the roles: ${def.roles.join(', ')}`);
    return def;
  }

  /** A subscriber of `topics` pinged: runs the ping hook of each of those topics that has one. Never throws. */
  async pinged(who: Principal, topics: Iterable<string>): Promise<void> {
    for (const name of topics) {
      const hook = this.topics.get(name)?.onPing;
      if (!hook) continue;
      try {
        await hook(who);
      } catch (e) {
        this.log.warn(`ping hook of topic ${name} failed: ${(e as Error).message}`);
      }
    }
  }

  /** The gateway of this replica registers here to receive every message for its connections. */
  attach(sink: LiveSink): void {
    this.sink = sink;
  }

  /** Connections of this replica subscribed to a topic (0 without a gateway). */
  localSubscribers(topic: string): number {
    return this.sink?.subscribers(topic) ?? 0;
  }

  /** Open WebSocket connections of this replica. */
  localConnections(): number {
    return this.sink?.connections() ?? 0;
  }

  /** To every subscriber of a broadcast topic, on every replica. */
  publish(topic: string, event: string, data: unknown): Promise<void> {
    this.check(topic, event, 'broadcast');
    return this.pubsub.publish({ topic, event, data });
  }

  /**
   * To one owner's subscribed connections (owner = pseudonym), on every replica; nothing is sent
   * while that owner has no live connection anywhere (most grants and releases).
   */
  publishToOwner(topic: string, owner: string, event: string, data: unknown): Promise<void> {
    this.check(topic, event, 'owner');
    if (!this.pubsub.watched(owner)) return Promise.resolve();
    return this.pubsub.publish({ topic, event, data, owner });
  }

  /** Whether a message for `owner` would reach anyone (check before building an expensive one). */
  watched(owner: string): boolean {
    return this.pubsub.watched(owner);
  }

  /** A connection of this replica subscribed to an owner-scoped topic; resolves once every replica knows. */
  watch(owner: string): Promise<void> {
    return this.pubsub.watch(owner);
  }

  /** The end of one `watch`. */
  unwatch(owner: string): void {
    this.pubsub.unwatch(owner);
  }

  /** To this replica's subscribers only (periodic refreshes that every replica makes for itself). */
  deliverLocally(topic: string, event: string, data: unknown): void {
    this.check(topic, event, 'broadcast');
    this.sink?.deliver({ topic, event, data, origin: this.pubsub.origin });
  }

  private check(topic: string, event: string, scope: TopicDefinition['scope']): void {
    const def = this.topics.get(topic);
    if (!def) throw new Error(`topic "${topic}" is not defined`);
    if (def.scope !== scope) throw new Error(`topic "${topic}" is ${def.scope}-scoped`);
    if (!EVENT.test(event)) throw new Error(`invalid event name "${event}"`);
  }
}
