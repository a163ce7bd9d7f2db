import { SignJWT } from 'jose';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * Claim shapes per role, through the whole application: a token whose claims are not of the exact
 * expected shape is refused with 401 token-invalid before it can reach any route; a gateway agent's
 * `members` claim restricts it and is never read as "any member".
 */
describe.each([
  ['embedded store', false],
  ['redis store', true],
] as const)('token claim shapes (%s)', (_name, redis) => {
  let t: TestApp;
  let victimGrant: string;

  const now = () => Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>) => {
    const { auth } = t.config.broker;
    const body: Record<string, unknown> = { sub: 'agent-12', agency: 'alpha', iss: auth.issuer, aud: auth.audience, iat: now(), exp: now() + 600, ...claims };
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    return new SignJWT(body).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(t.config.jwtSecret!));
  };
  const renew = async (token: string, member = 'gw-1') =>
    t.app.inject({ method: 'POST', url: `/v1/pools/vpn-a/members/${member}/renewals`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: { active: [], ended: [victimGrant] } });

  beforeAll(async () => {
    t = await startTestApp({ redis });
  });
  beforeEach(async () => {
    const employee = await t.token({ sub: `victim-${Math.random()}` });
    const g = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: { authorization: `Bearer ${employee}`, 'content-type': 'application/json' }, payload: { pool: 'vpn-a' } });
    expect(g.statusCode).toBe(201);
    victimGrant = g.json().id;
  });
  afterEach(async () => {
    await t.app.inject({ method: 'DELETE', url: `/v1/grants/${victimGrant}`, headers: { authorization: `Bearer ${await t.token({ sub: 'op', roles: ['operator'] })}` } });
  });
  afterAll(async () => {
    await t.close();
  });

  const refusedAgentShapes: [string, Record<string, unknown>][] = [
    ['members as a string', { roles: ['gateway-agent'], members: 'vpn-a/gw-1' }],
    ['members as an object', { roles: ['gateway-agent'], members: { 'vpn-a/gw-1': true } }],
    ['members null', { roles: ['gateway-agent'], members: null }],
    ['no members claim', { roles: ['gateway-agent'] }],
    ['an empty members array', { roles: ['gateway-agent'], members: [] }],
    ['a members entry that is not <pool>/<member>', { roles: ['gateway-agent'], members: ['vpn-a/gw-1', '*'] }],
    ['a members entry of the wrong type', { roles: ['gateway-agent'], members: ['vpn-a/gw-1', 7] }],
    ['roles as a string', { roles: 'gateway-agent', members: ['vpn-a/gw-1'] }],
    ['an employee token carrying members', { roles: ['employee'], members: ['vpn-a/gw-1'] }],
    ['no exp', { roles: ['gateway-agent'], members: ['vpn-a/gw-1'], exp: undefined }],
    ['a lifetime over the configured maximum', { roles: ['gateway-agent'], members: ['vpn-a/gw-1'], exp: now() + 86_400 * 2 }],
    ['an agency of the wrong type', { roles: ['gateway-agent'], members: ['vpn-a/gw-1'], agency: ['alpha'] }],
    ['a subject of the wrong type', { roles: ['gateway-agent'], members: ['vpn-a/gw-1'], sub: 12 }],
    ['groups of the wrong type', { groups: { a: 1 } }],
  ];

  it.each(refusedAgentShapes)('refuses %s with 401 token-invalid, and the grant stays', async (_n, claims) => {
    const res = await renew(await sign(claims));
    expect([res.statusCode, res.json().code]).toEqual([401, 'token-invalid']);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const still = await t.app.inject({ method: 'GET', url: `/v1/grants/${victimGrant}`, headers: { authorization: `Bearer ${await t.token({ sub: 'op', roles: ['operator'] })}` } });
    expect(still.statusCode).toBe(200);
  });

  it('lets an agent act only for the members its token names', async () => {
    const gw12 = await sign({ roles: ['gateway-agent'], members: ['vpn-a/gw-2'] });
    const res = await renew(gw12, 'gw-1');
    expect([res.statusCode, res.json().code]).toEqual([403, 'forbidden']);
    const ok = await renew(await sign({ roles: ['gateway-agent'], members: ['vpn-a/gw-1', 'vpn-a/gw-2'] }), 'gw-1');
    expect(ok.statusCode).toBe(200);
  });

  it('accepts a token whose lifetime is within the maximum, without iat', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${await sign({ iat: undefined, exp: now() + 3600 })}` } });
    expect(res.statusCode).toBe(200);
  });
});
