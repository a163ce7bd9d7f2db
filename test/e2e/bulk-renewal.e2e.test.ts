import { LiveUpdatesService } from '../../src/services/live-updates.service';
import { api, sample, scrape, startBroker, type RunningBroker } from '../observability/support/broker';
import { isEvent, LiveClient } from '../observability/support/ws-client';

/**
 * Leases a gateway agent's report ends reach everyone who watches lease ends, as releases and
 * expiries do elsewhere: the owner's live page (`grants.ended`) and the metrics counters — on both
 * stores. The agent itself is answered with counts only.
 */
describe.each([
  ['embedded store', false, 18412],
  ['redis store', true, 18413],
] as const)('bulk renewal events (%s)', (_name, redis, port) => {
  let b: RunningBroker;
  let page: LiveClient | undefined;

  beforeAll(async () => {
    b = await startBroker({ port, redis });
    await b.app.get(LiveUpdatesService).ready();
  });
  afterAll(async () => {
    await page?.close();
    await b?.close();
  });

  it('the owner’s page and the metrics see the sessions an agent reported ended or no longer carries', async () => {
    const employee = await b.token({ sub: 'e-1', agency: 'alpha' });
    const [g1, g2] = [(await api(b.url, employee, 'POST', '/v1/grants', { pool: 'vdi-b', clientId: 'laptop' })).json, (await api(b.url, employee, 'POST', '/v1/grants', { pool: 'vdi-b', clientId: 'tablet' })).json];
    expect([g1.member, g2.member]).toEqual(['sh-1', 'sh-1']); // depth-first
    page = await LiveClient.connect(`ws://127.0.0.1:${port}/ws?access_token=${employee}`);
    page.send('subscribe', { topic: 'grants' });
    await page.next(isEvent('grants.list'));
    const before = (await scrape(b.url)).body;

    const agent = await b.token({ sub: 'agent-sh-1', agency: 'alpha', roles: ['gateway-agent'], members: ['vdi-b/sh-1'] });
    const ended = [page.upcoming(isEvent('grants.ended', (d) => d.id === g1.id)), page.upcoming(isEvent('grants.ended', (d) => d.id === g2.id))];
    // The session on the laptop ended; the tablet's the agent no longer carries (grace 0 in the fixture).
    const r = await api(b.url, agent, 'POST', '/v1/pools/vdi-b/members/sh-1/renewals', { active: [], ended: [g1.id] });
    expect([r.status, r.json]).toEqual([200, { renewed: 0, released: 1, expired: 1, unknown: [] }]);
    expect((await Promise.all(ended)).map((m) => m.data)).toEqual([
      { id: g1.id, pool: 'vdi-b', member: 'sh-1', reason: 'released' },
      { id: g2.id, pool: 'vdi-b', member: 'sh-1', reason: 'expired' },
    ]);

    const after = (await scrape(b.url)).body;
    const delta = (series: string) => (sample(after, series) ?? 0) - (sample(before, series) ?? 0);
    expect(delta('broker_releases_total{pool="vdi-b"}')).toBe(1);
    expect(delta('broker_expiries_total{pool="vdi-b",member="sh-1"}')).toBe(1);
    expect(after).not.toContain('e-1');
  });
});
