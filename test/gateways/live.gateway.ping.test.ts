import { Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { AuthService } from '../../src/auth/auth.service';
import type { Principal } from '../../src/auth/principal';
import { mintToken } from '../../src/auth/token-minter';
import { LiveGateway, PING_HOOK_INTERVAL_MS } from '../../src/gateways/live.gateway';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { PubSubRepository } from '../../src/repositories/pubsub.repository';
import { LiveUpdatesService } from '../../src/services/live-updates.service';
import { PseudonymService } from '../../src/services/pseudonym.service';
import { testConfig } from '../support/test-app';

/** Records the pings the gateway hands on instead of running topic hooks. */
class RecordingLive extends LiveUpdatesService {
  readonly pings: { owner: string; topics: string[] }[] = [];
  override pinged(who: Principal, topics: Iterable<string>): Promise<void> {
    this.pings.push({ owner: who.owner, topics: [...topics] });
    return Promise.resolve();
  }
}

/** A socket as the gateway uses it: open, and keeping what was sent. */
function fakeSocket(): WebSocket & { sent: string[] } {
  const sent: string[] = [];
  return { OPEN: 1, readyState: 1, bufferedAmount: 0, sent, send: (s: string) => sent.push(s), close: () => undefined } as unknown as WebSocket & { sent: string[] };
}

describe('LiveGateway: a ping runs the ping hooks of the topics the connection subscribes to', () => {
  const config = new ConfigRepository(testConfig());
  let live: RecordingLive;
  let gateway: LiveGateway;
  let now: number;

  beforeEach(() => {
    live = new RecordingLive(new PubSubRepository(config));
    live.defineTopic({ name: 'waiting', scope: 'owner' });
    live.defineTopic({ name: 'capacity', scope: 'broadcast' });
    gateway = new LiveGateway(live, new AuthService(config, new PseudonymService(config)));
    gateway.onModuleInit();
    now = Date.now(); // the token's expiry is checked against it
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function connected(): Promise<WebSocket> {
    const socket = fakeSocket();
    const token = await mintToken({ sub: 'emp-1', agency: 'alpha' }, config.get().broker.auth, config.get().jwtSecret!);
    gateway.handleConnection(socket, { url: '/ws' } as IncomingMessage);
    expect(await gateway.onAuth(socket, { token })).toMatchObject({ event: 'auth', data: { ok: true } });
    return socket;
  }

  it('answers pong to anyone, and runs nothing before authentication or without a subscription', async () => {
    const anonymous = fakeSocket();
    gateway.handleConnection(anonymous, { url: '/ws' } as IncomingMessage);
    expect(gateway.onPing(anonymous)).toEqual({ event: 'pong', data: null });
    const socket = await connected();
    expect(gateway.onPing(socket)).toEqual({ event: 'pong', data: null });
    expect(live.pings).toEqual([]);
  });

  it('hands the owner and subscribed topics on, at most once per interval per connection', async () => {
    const socket = await connected();
    await gateway.onSubscribe(socket, { topic: 'waiting' });
    await gateway.onSubscribe(socket, { topic: 'capacity' });
    gateway.onPing(socket);
    now += PING_HOOK_INTERVAL_MS - 1;
    gateway.onPing(socket);
    gateway.onPing(socket);
    expect(live.pings).toHaveLength(1);
    now += 1;
    expect(gateway.onPing(socket)).toEqual({ event: 'pong', data: null });
    expect(live.pings).toHaveLength(2);
    expect(live.pings[0]!.topics).toEqual(['waiting', 'capacity']);
    expect(live.pings[0]!.owner).not.toContain('emp-1'); // the pseudonym, never the subject
    // Another connection of its own has its own interval.
    const second = await connected();
    await gateway.onSubscribe(second, { topic: 'waiting' });
    gateway.onPing(second);
    expect(live.pings).toHaveLength(3);
    gateway.onUnsubscribe(second, { topic: 'waiting' });
    now += PING_HOOK_INTERVAL_MS;
    gateway.onPing(second);
    expect(live.pings).toHaveLength(3);
  });
});

describe('LiveUpdatesService.pinged', () => {
  it('runs the hooks of the given topics that have one, and keeps going past a failing hook', async () => {
    Logger.overrideLogger(false);
    const config = new ConfigRepository(testConfig());
    const live = new LiveUpdatesService(new PubSubRepository(config));
    const ran: string[] = [];
    live.defineTopic({ name: 'a', scope: 'owner', onPing: async () => void ran.push('a') });
    live.defineTopic({ name: 'b', scope: 'owner', onPing: () => Promise.reject(new Error('store down')) });
    live.defineTopic({ name: 'c', scope: 'broadcast' });
    live.defineTopic({ name: 'd', scope: 'owner', onPing: async () => void ran.push('d') });
    const who: Principal = { owner: 'pseudo', agency: 'alpha', roles: new Set(['employee']), members: new Set() };
    await expect(live.pinged(who, ['b', 'c', 'a', 'nope', 'd'])).resolves.toBeUndefined();
    expect(ran).toEqual(['a', 'd']);
  });
});
