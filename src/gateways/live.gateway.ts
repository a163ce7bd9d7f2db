import { Logger, OnModuleInit } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayConnection, OnGatewayDisconnect, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { decodeJwt } from 'jose';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { AuthService } from '../auth/auth.service';
import type { Principal } from '../auth/principal';
import { BrokerError, errorCatalogue, type ErrorCode } from '../errors/error-codes';
import type { LiveEnvelope } from '../repositories/pubsub.repository';
import { LiveUpdatesService, type LiveEvent } from '../services/live-updates.service';

/** A connection that has not authenticated by then is closed. */
export const AUTH_TIMEOUT_MS = 10_000;
/** A client that does not read its messages is skipped rather than buffered without end (wall screens on bad links). */
export const MAX_BUFFERED_BYTES = 1 << 20;

/** Clients send only small control messages. */
export const MAX_INCOMING_BYTES = 16 * 1024;

/** A connection's pings run the topics' ping hooks (a waiting-room check-in) at most this often; a chatty client gets pongs only. */
export const PING_HOOK_INTERVAL_MS = 1_000;

/** Close codes (4000–4999 are the application's). */
export const CLOSE_UNAUTHENTICATED = 4401;

interface Client {
  /** Settles when the token given at connect time has been checked (null: not yet authenticated). */
  auth: Promise<Principal | null>;
  principal: Principal | null;
  topics: Set<string>;
  /** Owner-scoped topics → the owner announced as listening for them (LiveUpdatesService.watch). */
  watching: Map<string, string>;
  /** Closes the connection when the token is not authenticated in time, or when it expires. */
  authTimer: NodeJS.Timeout | null;
  /** When this connection's ping last ran the topics' ping hooks (epoch ms). */
  lastPingHook: number;
}

/**
 * Live updates over WebSocket at `/ws`.
 *
 * Protocol (JSON text frames, `{ "event": ..., "data": ... }` both ways):
 * - authenticate with the same bearer JWT as the REST API: `?access_token=<jwt>` on the URL,
 *   or a first message `{"event":"auth","data":{"token":"<jwt>"}}` → `{"event":"auth","data":{"ok":true,"roles":[...]}}`;
 * - `{"event":"subscribe","data":{"topic":"capacity"}}` → `{"event":"subscribed","data":{"topic":"capacity"}}`,
 *   then the topic's current state and every change as `{"event":"capacity.pool","data":{...}}`;
 * - `{"event":"unsubscribe","data":{"topic":"capacity"}}`; `{"event":"ping"}` → `{"event":"pong"}`; a ping from an
 *   authenticated connection also runs the ping hook of each topic it subscribes to (on `waiting`: a check-in
 *   of the owner's places in line, answered as `waiting.ticket`), at most once per PING_HOOK_INTERVAL_MS;
 * - problems come back as `{"event":"error","data":{"code","title","detail"}}` (codes of docs/errors.md);
 *   a bad token also closes the connection with code 4401, and so does the token's expiry (send a new one
 *   with `auth` before then to stay connected).
 *
 * Topics are defined by services through LiveUpdatesService (`capacity` by
 * CapacityFeedService, `grants` by GrantsFeedService; the waiting room adds
 * its own); this gateway only authenticates, authorises and delivers.
 */
@WebSocketGateway({ path: '/ws', maxPayload: MAX_INCOMING_BYTES })
export class LiveGateway implements OnGatewayConnection, OnGatewayDisconnect, OnModuleInit {
  private readonly log = new Logger(LiveGateway.name);
  private readonly clients = new Map<WebSocket, Client>();
  private readonly byTopic = new Map<string, Set<WebSocket>>();

  constructor(
    private readonly live: LiveUpdatesService,
    private readonly auth: AuthService,
  ) {}

  onModuleInit(): void {
    this.live.attach({
      deliver: (msg) => this.deliver(msg),
      subscribers: (topic) => this.byTopic.get(topic)?.size ?? 0,
      connections: () => this.clients.size,
    });
  }

  handleConnection(socket: WebSocket, req: IncomingMessage): void {
    const token = new URL(req.url ?? '/', 'http://broker').searchParams.get('access_token');
    const client: Client = { auth: Promise.resolve(null), principal: null, topics: new Set(), watching: new Map(), authTimer: null, lastPingHook: -Infinity };
    this.clients.set(socket, client);
    if (token) {
      client.auth = this.authenticate(socket, client, token);
    } else {
      client.authTimer = setTimeout(() => {
        if (!client.principal) this.reject(socket, new BrokerError('token-missing', 'authenticate within 10 s: send {"event":"auth","data":{"token":"<jwt>"}}'));
      }, AUTH_TIMEOUT_MS);
      client.authTimer.unref();
    }
  }

  handleDisconnect(socket: WebSocket): void {
    const client = this.clients.get(socket);
    if (!client) return;
    if (client.authTimer) clearTimeout(client.authTimer);
    for (const t of client.topics) {
      this.byTopic.get(t)?.delete(socket);
      this.unwatch(client, t);
    }
    this.clients.delete(socket);
  }

  @SubscribeMessage('auth')
  async onAuth(@ConnectedSocket() socket: WebSocket, @MessageBody() data: unknown): Promise<LiveEvent | undefined> {
    const client = this.clients.get(socket);
    if (!client) return undefined;
    const token = (data as { token?: unknown } | null)?.token;
    if (typeof token !== 'string' || token.length === 0) return errorEvent(new BrokerError('token-missing', 'send {"event":"auth","data":{"token":"<jwt>"}}'));
    client.auth = this.authenticate(socket, client, token);
    const who = await client.auth;
    return who ? { event: 'auth', data: { ok: true, roles: [...who.roles] } } : undefined;
  }

  @SubscribeMessage('subscribe')
  async onSubscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() data: unknown): Promise<LiveEvent | undefined> {
    const client = this.clients.get(socket);
    if (!client) return undefined;
    const who = await client.auth;
    if (!who) return errorEvent(new BrokerError('token-missing', 'authenticate first'));
    const name = (data as { topic?: unknown } | null)?.topic;
    try {
      const def = this.live.authorise(who, typeof name === 'string' ? name : '');
      // Subscribing again changes nothing and reads nothing (no store reads on demand for a chatty client).
      if (client.topics.has(def.name)) return { event: 'subscribed', data: { topic: def.name } };
      client.topics.add(def.name);
      let set = this.byTopic.get(def.name);
      if (!set) this.byTopic.set(def.name, (set = new Set()));
      set.add(socket);
      // Other replicas learn that this owner listens before the initial state is read, so a change
      // made anywhere after that read is published to it.
      if (def.scope === 'owner') {
        client.watching.set(def.name, who.owner);
        await this.live.watch(who.owner);
      }
      send(socket, { event: 'subscribed', data: { topic: def.name } });
      for (const e of (await def.initial?.(who)) ?? []) send(socket, { event: `${def.name}.${e.event}`, data: e.data });
      return undefined;
    } catch (e) {
      return errorEvent(e);
    }
  }

  @SubscribeMessage('unsubscribe')
  onUnsubscribe(@ConnectedSocket() socket: WebSocket, @MessageBody() data: unknown): LiveEvent | undefined {
    const client = this.clients.get(socket);
    const name = (data as { topic?: unknown } | null)?.topic;
    if (!client || typeof name !== 'string') return undefined;
    if (client.topics.delete(name)) this.unwatch(client, name);
    this.byTopic.get(name)?.delete(socket);
    return { event: 'unsubscribed', data: { topic: name } };
  }

  @SubscribeMessage('ping')
  onPing(@ConnectedSocket() socket: WebSocket): LiveEvent {
    const client = this.clients.get(socket);
    const now = Date.now();
    if (client?.principal && client.topics.size > 0 && now - client.lastPingHook >= PING_HOOK_INTERVAL_MS) {
      client.lastPingHook = now;
      void this.live.pinged(client.principal, [...client.topics]);
    }
    return { event: 'pong', data: null };
  }


  private async authenticate(socket: WebSocket, client: Client, token: string): Promise<Principal | null> {
    try {
      const who = await this.auth.verify(token);
      client.principal = who;
      if (client.authTimer) clearTimeout(client.authTimer);
      client.authTimer = null;
      // The token was verified above; its exp only decides when this connection stops being authenticated.
      const exp = decodeJwt(token).exp;
      if (exp !== undefined) {
        client.authTimer = setTimeout(() => this.reject(socket, new BrokerError('token-expired', 'the token has expired; sign in again')), Math.max(0, exp * 1000 - Date.now()));
        client.authTimer.unref();
      }
      return who;
    } catch (e) {
      this.reject(socket, e);
      return null;
    }
  }

  private unwatch(client: Client, topic: string): void {
    const owner = client.watching.get(topic);
    if (owner === undefined) return;
    client.watching.delete(topic);
    this.live.unwatch(owner);
  }

  private reject(socket: WebSocket, e: unknown): void {
    send(socket, errorEvent(e));
    socket.close(CLOSE_UNAUTHENTICATED, 'unauthenticated');
  }

  private deliver(msg: LiveEnvelope): void {
    const sockets = this.byTopic.get(msg.topic);
    if (!sockets || sockets.size === 0) return;
    const frame = JSON.stringify({ event: `${msg.topic}.${msg.event}`, data: msg.data });
    for (const socket of sockets) {
      if (msg.owner !== undefined && this.clients.get(socket)?.principal?.owner !== msg.owner) continue;
      if (socket.readyState !== socket.OPEN) continue;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        this.log.warn(`a ${msg.topic} subscriber is not reading; message skipped`);
        continue;
      }
      socket.send(frame);
    }
  }
}

function send(socket: WebSocket, e: LiveEvent): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(e));
}

function errorEvent(e: unknown): LiveEvent {
  const err = e instanceof BrokerError ? e : new BrokerError('internal-error');
  const code: ErrorCode = err.code;
  return { event: 'error', data: { code, title: errorCatalogue[code].title, ...(err.detail ? { detail: err.detail } : {}) } };
}
