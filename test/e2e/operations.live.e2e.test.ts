/**
 * Operations through the live WebSocket gateway (/ws), on both stores: an
 * employee's page hears `grants.ending` before their session reaches the
 * pool's maximum duration, and the capacity page sees a member drained by an
 * operator at once, with the reason.
 */
import { LiveUpdatesService } from '../../src/services/live-updates.service';
import { SessionLimitService } from '../../src/services/session-limit.service';
import { api, startBroker, type RunningBroker } from '../observability/support/broker';
import { isEvent, LiveClient } from '../observability/support/ws-client';

const MIN = 60_000;

describe.each([
  ['embedded store', false, 18353],
  ['redis store', true, 18354],
] as const)('operations on the live gateway (%s)', (_name, redis, port) => {
  let b: RunningBroker;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    b = await startBroker({ port, redis, file: 'operations.yaml', feed: { flushMs: 20, refreshMs: 3_600_000 } });
    await b.app.get(LiveUpdatesService).ready();
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await b?.close();
  });

  async function subscribe(token: string, topic: string): Promise<LiveClient> {
    const c = await LiveClient.connect(`ws://127.0.0.1:${port}/ws?access_token=${token}`);
    clients.push(c);
    c.send('subscribe', { topic });
    await c.next(isEvent('subscribed', (d) => d.topic === topic));
    return c;
  }

  it('pushes grants.ending to the owner’s page before the maximum session duration is reached', async () => {
    const employee = await b.token({ sub: 'e-long-session', agency: 'alpha' });
    const page = await subscribe(employee, 'grants');
    const g = await api(b.url, employee, 'POST', '/v1/grants', { pool: 'vdi-b' });
    expect(g.status).toBe(201);
    const end = Date.parse(g.json.createdAt) + 480 * MIN; // vdi-b: maxSessionMinutes 480
    const ending = page.upcoming(isEvent('grants.ending', (d) => d.id === g.json.id));
    // The minute at which at most 10 minutes are left (the job runs every minute; here it is called for that minute).
    expect(await b.app.get(SessionLimitService).warn(end - 9 * MIN - 1)).toBe(1);
    expect((await ending).data).toEqual({ id: g.json.id, pool: 'vdi-b', member: g.json.member, endsAt: new Date(end).toISOString(), minutesLeft: 10 });
    expect(JSON.stringify(page.messages)).not.toContain('e-long-session');
  });

  it('shows a drained member on the capacity page at once, with the reason', async () => {
    const op = await b.token({ sub: 'ops-1', roles: ['operator'] });
    const wall = await subscribe(op, 'capacity');
    const drained = wall.upcoming(isEvent('capacity.pool', (d) => d.id === 'vpn-a' && d.members.some((m: { state: string }) => m.state === 'drain')));
    const res = await api(b.url, op, 'PUT', '/v1/pools/vpn-a/members/gw-2/state', { state: 'drain', reason: 'cable swap' });
    expect(res.status).toBe(200);
    expect((await drained).data.members[1]).toMatchObject({ id: 'gw-2', state: 'drain', stateReason: 'cable swap', stateBy: 'operator' });
  });
});
