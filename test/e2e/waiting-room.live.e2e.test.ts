import { api, startBroker, type RunningBroker } from '../observability/support/broker';
import { isEvent, LiveClient } from '../observability/support/ws-client';
import { LiveUpdatesService } from '../../src/services/live-updates.service';

/**
 * Keeping one's place in line by pinging over the live connection (src/gateways/live.gateway.ts,
 * WaitingRoomService.checkInAll), on both stores: a waiter whose page is subscribed to `waiting`
 * and pings stays in line past their check-in deadline, while those who neither check in nor ping
 * (or ping without the waiting topic) drop out. Real time: the fixture's check-in period is 3 s.
 */
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

describe.each([
  ['embedded store', false, 18410],
  ['redis store', true, 18411],
] as const)('waiting-room check-in by WebSocket ping (%s)', (_name, redis, port) => {
  let b: RunningBroker;
  const clients: LiveClient[] = [];
  const connect = async (token: string) => {
    const c = await LiveClient.connect(`ws://127.0.0.1:${port}/ws`);
    clients.push(c);
    c.send('auth', { token });
    await c.next(isEvent('auth'));
    return c;
  };

  beforeAll(async () => {
    b = await startBroker({ port, redis, file: 'waiting-checkin.yaml' });
    await b.app.get(LiveUpdatesService).ready();
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await b?.close();
  });

  it('a page that pings keeps its place; the others drop out; the offer comes over the same connection', async () => {
    const [holder, quiet, pinger, unsubscribed] = await Promise.all(['holder', 'quiet', 'pinger', 'unsubscribed'].map((sub) => b.token({ sub, agency: 'alpha' })));
    const held = await api(b.url, holder, 'POST', '/v1/grants', { pool: 'vpn-c' });
    expect(held.status).toBe(201);
    const join = async (tok: string) => {
      const r = await api(b.url, tok, 'POST', '/v1/grants', { pool: 'vpn-c', wait: true });
      expect(r.status).toBe(202);
      return r.json as { id: string; position: number; checkInBy: string };
    };
    const q = await join(quiet);
    const p = await join(pinger);
    const u = await join(unsubscribed);
    expect([q.position, p.position, u.position]).toEqual([1, 2, 3]);

    const page = await connect(pinger);
    page.send('subscribe', { topic: 'waiting' });
    expect((await page.next(isEvent('waiting.ticket'))).data).toMatchObject({ id: p.id, state: 'waiting', position: 2 });
    const other = await connect(unsubscribed);

    // Both ping (as the pages do) until every deadline given at joining has passed.
    const end = Math.max(...[q, p, u].map((t) => Date.parse(t.checkInBy))) + 1_000;
    while (Date.now() < end) {
      page.send('ping');
      other.send('ping');
      await sleep(250);
    }
    const pongs = page.messages.filter((m) => m.event === 'pong').length;
    expect(pongs).toBeGreaterThan(0);
    expect(other.messages.some((m) => m.event === 'pong')).toBe(true);

    // The pinging waiter was checked in (pushed as waiting.ticket, each with a later deadline) and is now first in line.
    const checkIns = page.messages.filter((m) => m.event === 'waiting.ticket').slice(1);
    expect(checkIns.length).toBeGreaterThan(1);
    const deadlines = checkIns.map((m) => Date.parse(m.data.checkInBy));
    expect(deadlines[deadlines.length - 1]).toBeGreaterThan(Date.parse(p.checkInBy));
    expect(deadlines).toEqual([...deadlines].sort((x, y) => x - y));
    const mine = await api(b.url, pinger, 'GET', `/v1/waiting/${p.id}`);
    expect([mine.status, mine.json.state, mine.json.position]).toEqual([200, 'waiting', 1]);
    // The quiet one and the one whose connection is not on the waiting topic are gone.
    for (const [tok, t] of [
      [quiet, q],
      [unsubscribed, u],
    ] as const) {
      const r = await api(b.url, tok, 'GET', `/v1/waiting/${t.id}`);
      expect([t.id, r.status, r.json.code]).toEqual([t.id, 404, 'ticket-not-found']);
    }
    expect(other.messages.some((m) => m.event.startsWith('waiting.'))).toBe(false);

    // The slot frees: the offer reaches the page, and the claim turns it into the grant.
    const offered = page.upcoming(isEvent('waiting.offer'));
    expect((await api(b.url, holder, 'DELETE', `/v1/grants/${held.json.id}`)).status).toBe(204);
    expect((await offered).data).toMatchObject({ id: p.id, state: 'offered', position: 0 });
    const claimed = await api(b.url, pinger, 'POST', `/v1/waiting/${p.id}/claim`);
    expect([claimed.status, claimed.json.id]).toEqual([201, p.id]);
  });
});
