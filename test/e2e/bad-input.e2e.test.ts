import { SignJWT } from 'jose';
import { stateDigest as digestOf } from '../security/support/state-digest';
import { startTestApp, type TestApp } from '../support/test-app';


/** Everything the store holds that a request could change (test/security/support/state-digest.ts). */
const stateDigest = async (t: TestApp) => (await digestOf(t, ['vpn-a', 'vdi-b'])).join('\n');

type Case = { name: string; status: number; code: string; req: (t: TestApp, ctx: Ctx) => Promise<Parameters<TestApp['app']['inject']>[0]> };
type Ctx = { employee: string; otherGrantId: string };

const json = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

const cases: Case[] = [
  { name: 'malformed JSON', status: 400, code: 'malformed-json', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: '{"pool": "vpn-a",' }) },
  { name: 'an empty body', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: '' }) },
  { name: 'an unknown field', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: { pool: 'vpn-a', priority: 'vip' } }) },
  { name: 'a missing pool', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: {} }) },
  { name: 'a pool of the wrong type', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: { pool: 42 } }) },
  { name: 'an array body', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: '[{"pool":"vpn-a"}]' }) },
  { name: 'a null body', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: 'null' }) },
  { name: 'a bad clientId', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: { pool: 'vpn-a', clientId: 'x'.repeat(65) } }) },
  { name: 'an unknown pool', status: 404, code: 'unknown-pool', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: { pool: 'no-such-pool' } }) },
  { name: 'an oversized body', status: 413, code: 'payload-too-large', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: json(c.employee), payload: JSON.stringify({ pool: 'vpn-a', clientId: 'x'.repeat(200_000) }) }) },
  { name: 'a non-JSON content type', status: 415, code: 'unsupported-media-type', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: { authorization: `Bearer ${c.employee}`, 'content-type': 'text/plain' }, payload: 'pool=vpn-a' }) },
  { name: 'a bad Idempotency-Key', status: 400, code: 'invalid-idempotency-key', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants', headers: { ...json(c.employee), 'idempotency-key': 'short' }, payload: { pool: 'vpn-a' } }) },
  { name: 'no token', status: 401, code: 'token-missing', req: async () => ({ method: 'POST', url: '/v1/grants', headers: { 'content-type': 'application/json' }, payload: { pool: 'vpn-a' } }) },
  { name: 'a non-bearer Authorization', status: 401, code: 'token-invalid', req: async () => ({ method: 'POST', url: '/v1/grants', headers: { authorization: 'Basic dXNlcjpwYXNz', 'content-type': 'application/json' }, payload: { pool: 'vpn-a' } }) },
  { name: 'an expired token', status: 401, code: 'token-expired', req: async (t) => ({ method: 'POST', url: '/v1/grants', headers: json(await signed(t, { exp: Math.floor(Date.now() / 1000) - 3600 })), payload: { pool: 'vpn-a' } }) },
  { name: 'a forged token (other secret)', status: 401, code: 'token-invalid', req: async (t) => ({ method: 'POST', url: '/v1/grants', headers: json(await signed(t, {}, 'an-attacker-secret-that-is-long-enough-000000')), payload: { pool: 'vpn-a' } }) },
  { name: 'an unsigned token (alg none)', status: 401, code: 'token-invalid', req: async () => ({ method: 'POST', url: '/v1/grants', headers: json(unsigned()), payload: { pool: 'vpn-a' } }) },
  { name: 'a token for another audience', status: 401, code: 'token-invalid', req: async (t) => ({ method: 'POST', url: '/v1/grants', headers: json(await signed(t, { aud: 'someone-else' })), payload: { pool: 'vpn-a' } }) },
  { name: 'a token without agency', status: 401, code: 'token-invalid', req: async (t) => ({ method: 'POST', url: '/v1/grants', headers: json(await signed(t, { agency: undefined })), payload: { pool: 'vpn-a' } }) },
  { name: "reading someone else's grant", status: 404, code: 'grant-not-found', req: async (_t, c) => ({ method: 'GET', url: `/v1/grants/${c.otherGrantId}`, headers: json(c.employee) }) },
  { name: "renewing someone else's grant", status: 404, code: 'grant-not-found', req: async (_t, c) => ({ method: 'POST', url: `/v1/grants/${c.otherGrantId}/heartbeat`, headers: json(c.employee) }) },
  { name: "releasing someone else's grant", status: 404, code: 'grant-not-found', req: async (_t, c) => ({ method: 'DELETE', url: `/v1/grants/${c.otherGrantId}`, headers: json(c.employee) }) },
  { name: 'a malformed grant id', status: 400, code: 'invalid-grant-id', req: async (_t, c) => ({ method: 'DELETE', url: '/v1/grants/not-a-grant-id', headers: json(c.employee) }) },
  { name: 'an unknown grant in a known pool', status: 404, code: 'grant-not-found', req: async (_t, c) => ({ method: 'POST', url: '/v1/grants/vpn-a.AAAAAAAAAAAAAAAA/heartbeat', headers: json(c.employee) }) },
  { name: 'an unknown pool read', status: 404, code: 'unknown-pool', req: async (_t, c) => ({ method: 'GET', url: '/v1/pools/nope', headers: json(c.employee) }) },
  { name: 'a malformed pool id', status: 400, code: 'validation-failed', req: async (_t, c) => ({ method: 'GET', url: '/v1/pools/NOT_AN_ID', headers: json(c.employee) }) },
  { name: 'an employee sending a bulk renewal', status: 403, code: 'forbidden', req: async (_t, c) => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/renewals', headers: json(c.employee), payload: { active: [] } }) },
  { name: 'a bulk renewal with a bad id', status: 400, code: 'validation-failed', req: async (t) => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/renewals', headers: json(await t.token({ sub: 'agent', roles: ['gateway-agent'], members: ['vpn-a/gw-1'] })), payload: { active: ['../../etc'] } }) },
  { name: 'a bulk renewal for an unknown member', status: 404, code: 'unknown-member', req: async (t) => ({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-9/renewals', headers: json(await t.token({ sub: 'agent', roles: ['gateway-agent'], members: ['vpn-a/gw-9'] })), payload: { active: [] } }) },
  { name: "an employee listing a member's grants", status: 403, code: 'forbidden', req: async (_t, c) => ({ method: 'GET', url: '/v1/pools/vpn-a/members/gw-1/grants', headers: json(c.employee) }) },
  { name: "listing a member's grants with a bad member id", status: 400, code: 'validation-failed', req: async (t) => ({ method: 'GET', url: '/v1/pools/vpn-a/members/..%2F..%2Fetc/grants', headers: json(await t.token({ sub: 'op', roles: ['operator'] })) }) },
  { name: 'listing the grants of an unknown member', status: 404, code: 'unknown-member', req: async (t) => ({ method: 'GET', url: '/v1/pools/vpn-a/members/gw-9/grants', headers: json(await t.token({ sub: 'agent', roles: ['gateway-agent'], members: ['vpn-a/gw-9'] })) }) },
  { name: 'a gateway agent asking for a session', status: 403, code: 'forbidden', req: async (t) => ({ method: 'POST', url: '/v1/grants', headers: json(await t.token({ sub: 'agent', roles: ['gateway-agent'], members: ['vpn-a/gw-1'] })), payload: { pool: 'vpn-a' } }) },
  { name: 'an unknown route', status: 404, code: 'route-not-found', req: async (_t, c) => ({ method: 'GET', url: '/v1/nothing-here', headers: json(c.employee) }) },
];

async function signed(t: TestApp, override: Record<string, unknown>, secret = t.config.jwtSecret!): Promise<string> {
  const { auth } = t.config.broker;
  const claims: Record<string, unknown> = { sub: 'e-forged', agency: 'alpha', roles: ['employee'], iss: auth.issuer, aud: auth.audience, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600, ...override };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
}

function unsigned(): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', agency: 'alpha', iss: 'test-issuer', aud: 'test-audience', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
}

describe.each([
  ['embedded store', false],
  ['redis store', true],
] as const)('bad input gets a 4xx problem+json and changes nothing (%s)', (_name, redis) => {
  let t: TestApp;
  let ctx: Ctx;
  beforeAll(async () => {
    t = await startTestApp({ redis });
    const other = await t.token({ sub: 'e-other', agency: 'beta' });
    const g = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: json(other), payload: { pool: 'vpn-a' } });
    expect(g.statusCode).toBe(201);
    ctx = { employee: await t.token({ sub: 'e-self', agency: 'alpha' }), otherGrantId: g.json().id };
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const before = await stateDigest(t);
    const res = await t.app.inject(await c.req(t, ctx));
    expect(res.statusCode).toBe(c.status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({ status: c.status, code: c.code, type: `urn:telework-broker:problem:${c.code}` });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
    expect(await stateDigest(t)).toBe(before);
  });

  it('names the offending field of an invalid body', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: json(ctx.employee), payload: { pool: 'vpn-a', priority: 'vip' } });
    expect(res.json().errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/priority' })]));
  });
});
