import { SweeperService } from '../../src/services/sweeper.service';
import { startTestApp, type TestApp } from '../support/test-app';

const stores = [
  ['embedded store', false],
  ['redis store', true],
] as const;

describe.each(stores)('grant lifecycle through the API (%s)', (_name, redis) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ redis });
  });
  afterEach(async () => {
    await t.close();
  });

  const post = async (token: string, body: unknown, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/v1/grants', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) });

  it('grants, reads, renews and releases a session with a minted token', async () => {
    const token = await t.token({ sub: 'e-1001', agency: 'alpha' });
    const created = await post(token, { pool: 'vpn-a' });
    expect(created.statusCode).toBe(201);
    const g = created.json();
    expect(g).toMatchObject({ pool: 'vpn-a', agency: 'alpha', clientId: 'default', status: 'active' });
    expect(['gw-1', 'gw-2']).toContain(g.member);
    expect(g.memberHost).toBe(`${g.member}.test`);
    expect(g.id).toMatch(/^vpn-a\.[A-Za-z0-9_-]{12}$/);
    expect(Date.parse(g.expiresAt) - Date.parse(g.createdAt)).toBe(60_000);
    expect(created.headers.location).toBe(`/v1/grants/${g.id}`);
    expect(JSON.stringify(g)).not.toContain('e-1001');

    const read = await t.app.inject({ method: 'GET', url: `/v1/grants/${g.id}`, headers: { authorization: `Bearer ${token}` } });
    expect(read.statusCode).toBe(200);
    expect(read.json().fencingToken).toBe(g.fencingToken);

    const mine = await t.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${token}` } });
    expect(mine.json().map((x: { id: string }) => x.id)).toEqual([g.id]);

    const hb = await t.app.inject({ method: 'POST', url: `/v1/grants/${g.id}/heartbeat`, headers: { authorization: `Bearer ${token}` } });
    expect(hb.statusCode).toBe(200);
    expect(Date.parse(hb.json().expiresAt)).toBeGreaterThanOrEqual(Date.parse(g.expiresAt));

    const pool = (await t.app.inject({ method: 'GET', url: '/v1/pools/vpn-a', headers: { authorization: `Bearer ${token}` } })).json();
    expect(pool).toMatchObject({ id: 'vpn-a', capacity: 6, active: 1, free: 5 });
    expect(pool.agencies.find((a: { id: string }) => a.id === 'alpha').active).toBe(1);

    const del = await t.app.inject({ method: 'DELETE', url: `/v1/grants/${g.id}`, headers: { authorization: `Bearer ${token}` } });
    expect(del.statusCode).toBe(204);
    const gone = await t.app.inject({ method: 'GET', url: `/v1/grants/${g.id}`, headers: { authorization: `Bearer ${token}` } });
    expect(gone.statusCode).toBe(404);
    const after = (await t.app.inject({ method: 'GET', url: '/v1/pools/vpn-a', headers: { authorization: `Bearer ${token}` } })).json();
    expect(after.active).toBe(0);
  });

  it('returns the same grant when asked again from the same client (reconnect), and refuses a second client at the limit', async () => {
    const token = await t.token({ sub: 'e-1002', agency: 'alpha' });
    const first = await post(token, { pool: 'vpn-a', clientId: 'laptop' });
    const again = await post(token, { pool: 'vpn-a', clientId: 'laptop' });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const other = await post(token, { pool: 'vpn-a', clientId: 'tablet' });
    expect(other.statusCode).toBe(409);
    expect(other.json().code).toBe('employee-at-limit');
  });

  it('answers a retried request with the same Idempotency-Key with the first grant', async () => {
    const token = await t.token({ sub: 'e-1003', agency: 'beta' });
    const a = await post(token, { pool: 'vpn-a', clientId: 'c1' }, { 'idempotency-key': 'retry-key-0001' });
    const b = await post(token, { pool: 'vpn-a', clientId: 'c1' }, { 'idempotency-key': 'retry-key-0001' });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(200);
    expect(b.headers['idempotent-replayed']).toBe('true');
    expect(b.json().id).toBe(a.json().id);
    const pool = (await t.app.inject({ method: 'GET', url: '/v1/pools/vpn-a', headers: { authorization: `Bearer ${token}` } })).json();
    expect(pool.active).toBe(1);
  });

  it('refuses with a problem+json body and Retry-After when the pool is full', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await post(await t.token({ sub: `fill-${i}`, agency: i < 4 ? 'alpha' : 'beta' }), { pool: 'vpn-a' });
      expect(r.statusCode).toBe(201);
    }
    const r = await post(await t.token({ sub: 'late', agency: 'beta' }), { pool: 'vpn-a' });
    expect(r.statusCode).toBe(503);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.headers['retry-after']).toBe('30');
    expect(r.json()).toMatchObject({ code: 'pool-full', status: 503, type: 'urn:telework-broker:problem:pool-full' });
  });

  it('lets an agency borrow free capacity but never the unused guarantee of another', async () => {
    // vpn-a holds 6; alpha is guaranteed 2 and has used none. beta may borrow up to 4, not the 5th.
    for (let i = 0; i < 4; i++) expect((await post(await t.token({ sub: `b-${i}`, agency: 'beta' }), { pool: 'vpn-a' })).statusCode).toBe(201);
    const fifth = await post(await t.token({ sub: 'b-4', agency: 'beta' }), { pool: 'vpn-a' });
    expect(fifth.statusCode).toBe(503);
    expect(fifth.json().code).toBe('capacity-reserved');
    expect((await post(await t.token({ sub: 'a-0', agency: 'alpha' }), { pool: 'vpn-a' })).statusCode).toBe(201);
    expect((await post(await t.token({ sub: 'a-1', agency: 'alpha' }), { pool: 'vpn-a' })).statusCode).toBe(201);
    expect((await post(await t.token({ sub: 'a-2', agency: 'alpha' }), { pool: 'vpn-a' })).json().code).toBe('pool-full');
  });

  it('refuses an agency at its maximum with Retry-After', async () => {
    const tok = (i: number) => t.token({ sub: `g-${i}`, agency: 'gamma' });
    expect((await post(await tok(0), { pool: 'vdi-b' })).statusCode).toBe(201);
    const r = await post(await tok(1), { pool: 'vdi-b' });
    expect(r.statusCode).toBe(429);
    expect(r.json().code).toBe('agency-at-maximum');
    expect(r.headers['retry-after']).toBeDefined();
    const notEntitled = await post(await tok(2), { pool: 'vpn-a' });
    expect(notEntitled.statusCode).toBe(403);
    expect(notEntitled.json().code).toBe('not-entitled');
  });

  it('lets a gateway agent renew what it carries and expire what it no longer reports', async () => {
    const e1 = await t.token({ sub: 'e-1', agency: 'alpha' });
    const e2 = await t.token({ sub: 'e-2', agency: 'alpha' });
    const g1 = (await post(e1, { pool: 'vdi-b' })).json();
    const g2 = (await post(e2, { pool: 'vdi-b' })).json();
    expect(g1.member).toBe('sh-1');
    expect(g2.member).toBe('sh-1'); // depth-first
    const agent = await t.token({ sub: 'agent-sh-1', agency: 'alpha', roles: ['gateway-agent'], members: ['vdi-b/sh-1'] });
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/pools/vdi-b/members/sh-1/renewals',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      payload: { active: [g1.id], ended: [] },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ renewed: 1, released: 0, expired: 1, unknown: [] });
    expect((await t.app.inject({ method: 'GET', url: `/v1/grants/${g2.id}`, headers: { authorization: `Bearer ${e2}` } })).statusCode).toBe(404);
    const other = await t.app.inject({
      method: 'POST',
      url: '/v1/pools/vdi-b/members/sh-2/renewals',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      payload: { active: [] },
    });
    expect(other.statusCode).toBe(403);
    expect(other.json().code).toBe('forbidden');
  });

  it('serves the OpenAPI description at /docs', async () => {
    const r = await t.app.inject({ method: 'GET', url: '/docs/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/grants', '/v1/grants/{id}', '/v1/grants/{id}/heartbeat', '/v1/pools', '/v1/pools/{pool}']));
    expect((await t.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBe(200);
  });
});

describe.each(stores)('lease expiry through the API (%s)', (_name, redis) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ redis, file: 'short-ttl.yaml' });
  });
  afterEach(async () => {
    await t.close();
  });

  it('returns the capacity of a lease nobody renews, without a release', async () => {
    const a = await t.token({ sub: 'x-1' });
    const b = await t.token({ sub: 'x-2' });
    const auth = (tok: string) => ({ authorization: `Bearer ${tok}`, 'content-type': 'application/json' });
    const g = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: auth(a), payload: { pool: 'vpn-s' } });
    expect(g.statusCode).toBe(201);
    expect((await t.app.inject({ method: 'POST', url: '/v1/grants', headers: auth(b), payload: { pool: 'vpn-s' } })).statusCode).toBe(503);
    await new Promise((r) => setTimeout(r, 1300));
    // The lease has run out: reading says so, and the sweep returns its capacity.
    expect((await t.app.inject({ method: 'GET', url: `/v1/grants/${g.json().id}`, headers: auth(a) })).json().code).toBe('lease-expired');
    expect(await t.app.get(SweeperService).sweep()).toBe(1);
    expect((await t.app.inject({ method: 'GET', url: '/v1/pools/vpn-s', headers: auth(a) })).json().active).toBe(0);
    expect((await t.app.inject({ method: 'POST', url: '/v1/grants', headers: auth(b), payload: { pool: 'vpn-s' } })).statusCode).toBe(201);
    expect((await t.app.inject({ method: 'POST', url: `/v1/grants/${g.json().id}/heartbeat`, headers: auth(a) })).statusCode).toBe(404);
  });

  it('reclaims an expired lease at the next admission, before deciding', async () => {
    const auth = async (sub: string) => ({ authorization: `Bearer ${await t.token({ sub })}`, 'content-type': 'application/json' });
    expect((await t.app.inject({ method: 'POST', url: '/v1/grants', headers: await auth('y-1'), payload: { pool: 'vpn-s' } })).statusCode).toBe(201);
    await new Promise((r) => setTimeout(r, 1300));
    expect((await t.app.inject({ method: 'POST', url: '/v1/grants', headers: await auth('y-2'), payload: { pool: 'vpn-s' } })).statusCode).toBe(201);
  });
});
