import { startTestApp, type TestApp } from '../support/test-app';

/**
 * GET /v1/pools/{pool}/members/{member}/grants through the whole application, on both stores: the
 * member's own gateway agent (and operators) read the live grants on it, ids and expiry only; an
 * agent of another member and employees are refused. A gateway agent can then report every
 * session its member carries in one bulk renewal.
 */
describe.each([
  ['embedded store', false],
  ['redis store', true],
] as const)('the grants on a member (%s)', (_name, redis) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ redis });
  });
  afterAll(async () => {
    await t.close();
  });

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const list = async (token: string, pool: string, member: string) => t.app.inject({ method: 'GET', url: `/v1/pools/${pool}/members/${member}/grants`, headers: auth(token) });
  const grant = async (token: string, pool: string) => {
    const r = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: { ...auth(token), 'content-type': 'application/json' }, payload: { pool } });
    expect(r.statusCode).toBe(201);
    return r.json() as { id: string; member: string; expiresAt: string };
  };

  it('answers the member’s own agent with the live grants on it, ids and expiry only, and the agent can renew them all', async () => {
    const e1 = await t.token({ sub: 'e-list-1', agency: 'alpha' });
    const e2 = await t.token({ sub: 'e-list-2', agency: 'alpha' });
    const [g1, g2] = [await grant(e1, 'vdi-b'), await grant(e2, 'vdi-b')];
    expect([g1.member, g2.member]).toEqual(['sh-1', 'sh-1']); // depth-first
    const released = await grant(await t.token({ sub: 'e-list-3', agency: 'alpha' }), 'vdi-b');
    const operator = await t.token({ sub: 'op-list', roles: ['operator'] });
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/grants/${released.id}`, headers: auth(operator) })).statusCode).toBe(204);

    const agent = await t.token({ sub: 'agent-sh-1', agency: 'alpha', roles: ['gateway-agent'], members: ['vdi-b/sh-1'] });
    const r = await list(agent, 'vdi-b', 'sh-1');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toEqual({
      pool: 'vdi-b',
      member: 'sh-1',
      count: 2,
      grants: [
        { id: g1.id, expiresAt: Date.parse(g1.expiresAt) },
        { id: g2.id, expiresAt: Date.parse(g2.expiresAt) },
      ],
    });
    // Nothing about who holds a grant: not the subject, not the pseudonym operators see.
    const owner = (await t.app.inject({ method: 'GET', url: `/v1/grants/${g1.id}`, headers: auth(operator) })).json().owner as string;
    expect(owner).toEqual(expect.any(String));
    for (const secret of ['e-list-1', owner, 'alpha']) expect(r.body).not.toContain(secret);

    // The other member lists nothing of sh-1's; an operator may read any member.
    const other = await list(operator, 'vdi-b', 'sh-2');
    expect([other.statusCode, other.json().count, other.json().grants]).toEqual([200, 0, []]);
    expect((await list(operator, 'vdi-b', 'sh-1')).json()).toEqual(body);

    // Every session the member carries, as listed, in one report: all renewed, nothing expired.
    const renewal = await t.app.inject({
      method: 'POST',
      url: '/v1/pools/vdi-b/members/sh-1/renewals',
      headers: { ...auth(agent), 'content-type': 'application/json' },
      payload: { active: body.grants.map((g: { id: string }) => g.id) },
    });
    expect([renewal.statusCode, renewal.json()]).toEqual([200, { renewed: 2, released: 0, expired: 0, unknown: [] }]);
  });

  it.each([
    ['an agent of another member', { sub: 'agent-sh-2', roles: ['gateway-agent' as const], members: ['vdi-b/sh-2'] }, 'vdi-b', 'sh-1', 403, 'forbidden'],
    ['an agent of the same member id in another pool', { sub: 'agent-gw-1', roles: ['gateway-agent' as const], members: ['vpn-a/gw-1'] }, 'vdi-b', 'gw-1', 403, 'forbidden'],
    ['an employee', { sub: 'e-nosy' }, 'vdi-b', 'sh-1', 403, 'forbidden'],
    ['an unknown member', { sub: 'agent-sh-9', roles: ['gateway-agent' as const], members: ['vdi-b/sh-9'] }, 'vdi-b', 'sh-9', 404, 'unknown-member'],
    ['an unknown pool', { sub: 'op-2', roles: ['operator' as const] }, 'nope', 'sh-1', 404, 'unknown-pool'],
    ['a malformed member id', { sub: 'op-3', roles: ['operator' as const] }, 'vdi-b', 'SH_1', 400, 'validation-failed'],
  ])('refuses %s with problem+json', async (_n, claims, pool, member, status, code) => {
    const r = await list(await t.token(claims), pool, member);
    expect([r.statusCode, r.json().code]).toEqual([status, code]);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
