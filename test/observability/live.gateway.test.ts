import { BrokerEvents } from '../../src/services/broker-events';
import { LiveUpdatesService } from '../../src/services/live-updates.service';
import { PseudonymService } from '../../src/services/pseudonym.service';
import { api, PORTS, sample, scrape, startBroker, type RunningBroker } from './support/broker';
import { isEvent, LiveClient } from './support/ws-client';

describe.each([
  ['embedded store, in process', false, PORTS.gateway],
  ['redis store, through Redis pub/sub', true, PORTS.gatewayRedis],
] as const)('live gateway at /ws (%s)', (_name, redis, port) => {
  let b: RunningBroker;
  let ws: string;
  const clients: LiveClient[] = [];
  const connect = async (query = '') => {
    const c = await LiveClient.connect(`${ws}${query}`);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    // No periodic refresh here: every message a test sees comes from a change or a subscription.
    b = await startBroker({ port, redis, feed: { flushMs: 20, refreshMs: 3_600_000 } });
    ws = `ws://127.0.0.1:${port}/ws`;
    await b.app.get(LiveUpdatesService).ready();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await b?.close();
  });

  it('authenticates with a first auth message, sends every pool at once on subscribe, then each change', async () => {
    const operator = await b.token({ sub: 'ops-1', agency: 'alpha', roles: ['operator'] });
    const c = await connect();
    c.send('auth', { token: operator });
    expect((await c.next(isEvent('auth'))).data).toEqual({ ok: true, roles: ['operator'] });
    c.send('subscribe', { topic: 'capacity' });
    await c.next(isEvent('subscribed', (d) => d.topic === 'capacity'));
    const initial = await c.next(isEvent('capacity.pool', (d) => d.id === 'vpn-a'));
    expect(initial.data).toMatchObject({ id: 'vpn-a', kind: 'vpn', capacity: 6, active: 0, free: 6, waiting: 0 });
    expect(initial.data.members.map((m: { id: string; state: string }) => `${m.id}:${m.state}`)).toEqual(['gw-1:active', 'gw-2:active']);
    expect(initial.data.agencies.map((a: { id: string }) => a.id).sort()).toEqual(['alpha', 'beta']);
    await c.next(isEvent('capacity.pool', (d) => d.id === 'vdi-b'));

    const employee = await b.token({ sub: 'e-1', agency: 'beta' });
    const update = c.upcoming(isEvent('capacity.pool', (d) => d.id === 'vpn-a' && d.active === 1));
    const g = await api(b.url, employee, 'POST', '/v1/grants', { pool: 'vpn-a' });
    expect(g.status).toBe(201);
    const pool = (await update).data;
    expect(pool.free).toBe(5);
    expect(pool.agencies.find((a: { id: string }) => a.id === 'beta').active).toBe(1);
    expect(pool.members.find((m: { id: string }) => m.id === g.json.member).active).toBe(1);
    expect(JSON.stringify(c.messages)).not.toContain('e-1');

    const released = c.upcoming(isEvent('capacity.pool', (d) => d.id === 'vpn-a' && d.active === 0));
    expect((await api(b.url, employee, 'DELETE', `/v1/grants/${g.json.id}`)).status).toBe(204);
    await released;
  });

  it('counts open connections in the metrics of this replica', async () => {
    await connect();
    await connect();
    const { body } = await scrape(b.url);
    expect(sample(body, 'broker_websocket_connections')).toBe(2);
  });

  it('closes the connection when the token expires', async () => {
    const c = await connect();
    c.send('auth', { token: await b.token({ sub: 'e-5', agency: 'alpha', ttlSeconds: 1 }) });
    await c.next(isEvent('auth'));
    expect((await c.next(isEvent('error'))).data).toMatchObject({ code: 'token-expired' });
    expect((await c.closed).code).toBe(4401);
  });

  it('accepts the token as access_token on the URL', async () => {
    const token = await b.token({ sub: 'e-2', agency: 'alpha' });
    const c = await connect(`?access_token=${token}`);
    c.send('subscribe', { topic: 'capacity' });
    await c.next(isEvent('capacity.pool'));
  });

  it('answers a repeated subscribe without sending the state again, and refuses oversized frames', async () => {
    const c = await connect(`?access_token=${await b.token({ sub: 'e-6', agency: 'alpha' })}`);
    c.send('subscribe', { topic: 'capacity' });
    await c.next(isEvent('capacity.pool', (d) => d.id === 'vdi-b'));
    const pools = () => c.messages.filter((m) => m.event === 'capacity.pool').length;
    const before = pools();
    c.send('subscribe', { topic: 'capacity' });
    c.send('ping');
    await c.upcoming(isEvent('pong'));
    expect(c.messages.filter((m) => m.event === 'subscribed')).toHaveLength(2);
    expect(pools()).toBe(before);

    c.ws.send(JSON.stringify({ event: 'ping', data: 'x'.repeat(64 * 1024) }));
    expect((await c.closed).code).toBe(1009);
  });

  it('rejects a bad token with an error and close code 4401', async () => {
    const c = await connect('?access_token=not.a.jwt');
    expect((await c.next(isEvent('error'))).data).toMatchObject({ code: 'token-invalid' });
    expect((await c.closed).code).toBe(4401);
  });

  it('refuses to subscribe before authenticating, and to unknown topics', async () => {
    const c = await connect();
    c.send('subscribe', { topic: 'capacity' });
    expect((await c.next(isEvent('error'))).data).toMatchObject({ code: 'token-missing' });
    c.send('auth', { token: await b.token({ sub: 'e-3', agency: 'alpha' }) });
    await c.next(isEvent('auth'));
    c.send('subscribe', { topic: 'everything' });
    expect((await c.next(isEvent('error', (d) => d.code === 'validation-failed'))).data.detail).toMatch(/no topic "everything"/);
    c.send('ping');
    await c.next(isEvent('pong'));
  });

  it("sends an employee their own grants and their changes, and nobody else's", async () => {
    const t1 = await b.token({ sub: 'e-10', agency: 'alpha' });
    const t2 = await b.token({ sub: 'e-11', agency: 'alpha' });
    const g = await api(b.url, t1, 'POST', '/v1/grants', { pool: 'vpn-a', clientId: 'laptop' });
    const mine = await connect();
    const other = await connect();
    for (const [c, t] of [
      [mine, t1],
      [other, t2],
    ] as const) {
      c.send('auth', { token: t });
      await c.next(isEvent('auth'));
      c.send('subscribe', { topic: 'grants' });
    }
    expect((await mine.next(isEvent('grants.list'))).data).toEqual([expect.objectContaining({ id: g.json.id, memberHost: g.json.memberHost })]);
    expect((await other.next(isEvent('grants.list'))).data).toEqual([]);

    // A second device of the same employee takes a VDI session: the page hears of it.
    const created = mine.upcoming(isEvent('grants.grant'));
    const d = await api(b.url, t1, 'POST', '/v1/grants', { pool: 'vdi-b', clientId: 'desktop' });
    expect(d.status).toBe(201);
    expect((await created).data).toEqual(d.json);

    // Ending the first session from elsewhere: the page hears of that too.
    const ended = mine.upcoming(isEvent('grants.ended'));
    expect((await api(b.url, t1, 'DELETE', `/v1/grants/${g.json.id}`)).status).toBe(204);
    expect((await ended).data).toEqual({ id: g.json.id, pool: 'vpn-a', member: g.json.member, reason: 'released' });

    // The sweeper reclaims the other one (as it does once nobody renews it): reason expired.
    const expired = mine.upcoming(isEvent('grants.ended', (x) => x.reason === 'expired'));
    const owner = b.app.get(PseudonymService).of('e-10');
    b.app.get(BrokerEvents).emit('expired', { pool: 'vdi-b', agency: 'alpha', member: d.json.member, id: d.json.id, owner });
    expect((await expired).data).toEqual({ id: d.json.id, pool: 'vdi-b', member: d.json.member, reason: 'expired' });

    // A ping round trip after the publications: had `other` been sent them, they would have come first.
    other.send('ping');
    await other.upcoming(isEvent('pong'));
    expect(other.messages.filter((m) => m.event.startsWith('grants.') && m.event !== 'grants.list')).toEqual([]);
    await api(b.url, t1, 'DELETE', `/v1/grants/${d.json.id}`);
  });
});
