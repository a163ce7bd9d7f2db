import fc from 'fast-check';
import type { InjectOptions } from 'light-my-request';
import Redis from 'ioredis';
import { SignJWT } from 'jose';
import { errorCatalogue } from '../../src/errors/error-codes';
import { CronRepository } from '../../src/repositories/cron.repository';
import { startTestApp, TEST_REDIS_URL, type TestApp } from '../support/test-app';
import { digestDiff, settledDigest, stateDigest } from './support/state-digest';

/**
 * A seeded property-based HTTP fuzzer over every route and role, in-process (app.inject), on each
 * store. Per run: a batch of requests that must be refused (no token, a forged or expired one,
 * a body that is not JSON or bombs the parser), with the store's state digest before and after;
 * then a batch of plausible requests from every role. Every answer: never 5xx, every 4xx a
 * catalogued problem+json. FUZZ_SEED reproduces a run; FUZZ_RUNS scales it (CI: 50 runs of 200).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 50);
const PER_BATCH = 100;
const POOLS = ['vpn-a', 'vdi-b'];

type Role = 'none' | 'garbage' | 'forged' | 'expired' | 'employee' | 'other-agency' | 'operator' | 'agent' | 'agent-vdi';
type Req = InjectOptions & { method: NonNullable<InjectOptions['method']>; url: string };

/** Routes from the OpenAPI document, plus the pages and probes it leaves out. */
async function routes(t: TestApp): Promise<[string, string][]> {
  const doc = (await t.app.inject({ method: 'GET', url: '/docs/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
  const api = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => [m.toUpperCase(), path] as [string, string]));
  return [...api, ['GET', '/metrics'], ['GET', '/'], ['GET', '/ops'], ['GET', '/assets/{name}'], ['GET', '/docs'], ['GET', '/docs/{name}']];
}

const idLike = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('..', '%2e%2e', '%', '%E0%A4%A', '%00', 'a'.repeat(150), '__proto__', 'constructor', ' ', '💥', '../../etc/passwd', '%2F', 'a;b', 'NaN', '-1'),
);
const param = (name: string, grantIds: string[]) => {
  const known =
    name === 'pool'
      ? fc.constantFrom(...POOLS, 'nope')
      : name === 'member'
        ? fc.constantFrom('gw-1', 'gw-2', 'sh-1', 'gw-9')
        : name === 'id'
          ? fc.constantFrom(...grantIds, 'vpn-a.AAAAAAAAAAAAAAAA', 'vdi-b.BBBBBBBBBBBBBBBB', 'not-an-id')
          : fc.constantFrom('broker.css', 'ops.js', 'self-service.html', 'swagger-ui.css', 'nope.js');
  return fc.oneof({ weight: 4, arbitrary: known }, { weight: 1, arbitrary: idLike }, { weight: 2, arbitrary: nasty.map((s) => (s.includes('%') ? s : encodeURIComponent(s))) }, { weight: 1, arbitrary: nasty });
};

/** Bodies that look like what a route takes, and JSON that does not. */
const plausibleBody = (grantIds: string[]) =>
  fc.oneof(
    fc.record({ pool: fc.constantFrom(...POOLS, 'nope'), clientId: fc.option(fc.string({ maxLength: 70 }), { nil: undefined }), wait: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: [] }),
    fc.record({ active: fc.array(fc.constantFrom(...grantIds, 'vpn-a.AAAAAAAAAAAAAAAA', 'x'), { maxLength: 5 }), ended: fc.option(fc.array(fc.constantFrom(...grantIds), { maxLength: 3 }), { nil: undefined }) }, { requiredKeys: [] }),
    fc.record({ state: fc.constantFrom('active', 'drain', 'out-of-service', 'bogus'), reason: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }) }, { requiredKeys: [] }),
    fc.record(
      {
        licenceLimit: fc.oneof(fc.integer({ min: -2, max: 20 }), fc.constant(null)),
        perEmployeeLimit: fc.integer({ min: -1, max: 5 }),
        members: fc.array(fc.record({ id: fc.constantFrom('gw-1', 'sh-1', 'zz'), maxSessions: fc.integer({ min: -1, max: 9 }) }), { maxLength: 3 }),
        reason: fc.string({ maxLength: 20 }),
      },
      { requiredKeys: [] },
    ),
    fc.record({ grantId: fc.constantFrom(...grantIds, 'nope'), reason: fc.string({ maxLength: 20 }) }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 3 }),
    fc.object({ maxDepth: 2 }),
  );

/** Bodies no route may accept: they are refused before any handler runs. */
const hostileBody = fc.oneof(
  fc.constantFrom('{"pool":', '{{', 'nul', '[1,2', '{"a":1}}', '\u0000', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}'),
  fc.integer({ min: 5, max: 3_000 }).map((n) => '{"a":' + '['.repeat(n) + ']'.repeat(n) + '}'),
  fc.integer({ min: 1_001, max: 1_500 }).map((n) => JSON.stringify({ pool: 'vpn-a', x: Array(n).fill(1) })),
);

/** Runs `fn` over `items`, CONCURRENCY at a time: in-process requests overlap their store round trips. */
const CONCURRENCY = 8;
async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

function pathOf(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? 'x');
}

describe.each([
  ['embedded store', false],
  ['redis store', true],
] as const)('HTTP fuzzer (%s)', (storeName, redis) => {
  let t: TestApp;
  let redisClient: Redis | undefined;
  let tokens: Record<Role, string | null>;
  let grantIds: string[];
  let all: [string, string][];

  beforeAll(async () => {
    t = await startTestApp({ redis, file: 'fuzz.yaml' });
    // The timed jobs (schedule reconcile and session-end warnings each minute, audit trim) write on their
    // own; stopped, so every change the digest sees was made by a request.
    await t.app.get(CronRepository).beforeApplicationShutdown();
    if (redis) redisClient = new Redis(TEST_REDIS_URL);
    const { auth } = t.config.broker;
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'fuzz-forged', agency: 'alpha', iss: auth.issuer, aud: auth.audience };
    tokens = {
      none: null,
      garbage: 'not.a.jwt',
      forged: await new SignJWT({ ...claims, roles: ['operator'] }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode('an-attacker-secret-that-is-long-enough-000000')),
      expired: await new SignJWT({ ...claims, roles: ['operator'], exp: now - 3600, iat: now - 7200 }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(t.config.jwtSecret!)),
      employee: await t.token({ sub: 'fuzz-employee' }),
      'other-agency': await t.token({ sub: 'fuzz-other', agency: 'beta' }),
      operator: await t.token({ sub: 'fuzz-operator', roles: ['operator'] }),
      agent: await t.token({ sub: 'fuzz-agent', roles: ['gateway-agent'], members: ['vpn-a/gw-1'] }),
      'agent-vdi': await t.token({ sub: 'fuzz-agent-vdi', roles: ['gateway-agent'], members: ['vdi-b/sh-1'] }),
    };
    grantIds = [];
    for (const who of ['employee', 'other-agency'] as const) {
      const g = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: { authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json' }, payload: { pool: 'vpn-a' } });
      expect(g.statusCode).toBe(201);
      grantIds.push(g.json().id);
    }
    all = await routes(t);
  });
  afterAll(async () => {
    redisClient?.disconnect();
    await t.close();
  });

  it(`answers ${RUNS * PER_BATCH * 2} requests over every route and role: no 5xx, every 4xx problem+json, refused requests change nothing`, async () => {
    expect(all.length).toBeGreaterThanOrEqual(25);
    const statuses = new Map<number, number>();
    const routesHit = new Set<string>();
    let sent = 0;
    const failures: string[] = [];

    const requestOf = (route: [string, string], role: Role, params: Record<string, string>, body: unknown, contentType: string | null): Req => {
      const headers: Record<string, string> = {};
      if (tokens[role]) headers.authorization = `Bearer ${tokens[role]}`;
      if (contentType) headers['content-type'] = contentType;
      const req: Req = { method: route[0] as Req['method'], url: pathOf(route[1], params), headers };
      if (body !== undefined && route[0] !== 'GET') req.payload = typeof body === 'string' ? body : JSON.stringify(body);
      return req;
    };

    const check = async (req: Req, route: [string, string], mustRefuse: boolean) => {
      const res = await t.app.inject(req);
      sent += 1;
      routesHit.add(route.join(' '));
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const where = `${req.method} ${req.url} (${JSON.stringify(req.headers).slice(0, 80)}) ${String(req.payload ?? '').slice(0, 80)}`;
      if (res.statusCode >= 500) failures.push(`${res.statusCode} ${res.body.slice(0, 200)} ← ${where}`);
      if (res.statusCode >= 400) {
        const type = String(res.headers['content-type'] ?? '');
        const body = type.startsWith('application/problem+json') ? (res.json() as { code?: string; status?: number }) : null;
        if (!body || !body.code || !(body.code in errorCatalogue) || body.status !== res.statusCode) failures.push(`not a catalogued problem+json: ${res.statusCode} ${type} ${res.body.slice(0, 120)} ← ${where}`);
      }
      if (mustRefuse && req.method !== 'GET' && (res.statusCode < 400 || res.statusCode >= 500)) failures.push(`accepted a request that must be refused: ${res.statusCode} ← ${where}`);
    };

    const routeArb = fc.constantFrom(...all);
    const paramsArb = fc.record({ pool: param('pool', grantIds), member: param('member', grantIds), id: param('id', grantIds), name: param('name', grantIds) });
    const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1');
    const hostile = fc.oneof(
      // No valid token, whatever else the request is.
      fc.record({ route: routeArb, role: fc.constantFrom<Role>('none', 'garbage', 'forged', 'expired'), params: paramsArb, body: fc.option(plausibleBody(grantIds), { nil: undefined }), ct: fc.constant('application/json') }),
      // A valid token, a body that cannot be parsed or bombs the parser, on a route that takes one.
      fc.record({ route: routeArb.filter(([m]) => m !== 'GET'), role: fc.constantFrom<Role>('employee', 'operator', 'agent'), params: paramsArb, body: hostileBody, ct: fc.constant('application/json') }),
      // A body in a media type the broker does not take.
      fc.record({ route: routeArb.filter(([m]) => m !== 'GET'), role: fc.constantFrom<Role>('employee', 'operator', 'agent'), params: paramsArb, body: fc.constant('pool=vpn-a'), ct: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded') }),
    );
    const plausible = fc.record({
      route: routeArb,
      role: fc.constantFrom<Role>('none', 'garbage', 'employee', 'other-agency', 'operator', 'agent', 'agent-vdi'),
      params: paramsArb,
      body: fc.option(plausibleBody(grantIds), { nil: undefined, freq: 3 }),
      ct: fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: contentType }),
    });

    const property = fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: PER_BATCH, maxLength: PER_BATCH }), fc.array(plausible, { minLength: PER_BATCH, maxLength: PER_BATCH }), async (refused, others) => {
        const before = await settledDigest(t, POOLS, redisClient);
        await inParallel(refused, (r) => check(requestOf(r.route, r.role, r.params, r.body, r.ct), r.route, true));
        const after = await stateDigest(t, POOLS, redisClient);
        if (after.join() !== before.join()) failures.push(`the state changed during a batch of requests that must all be refused:\n${digestDiff(before, after)}`);
        await inParallel(others, (r) => check(requestOf(r.route, r.role, r.params, r.body, r.body === undefined ? null : r.ct), r.route, false));
        return failures.length === 0;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // On a failure, what failed (fast-check's own report lists the whole batch).
    await property.catch((e: Error) => failures.push(`${e.message.split('\n').slice(0, 2).join(' ')}`));

    const counts = [...statuses.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s}: ${n}`).join(', ');
    process.stdout.write(`fuzz (${storeName}): seed ${SEED}, ${sent} requests over ${routesHit.size} of ${all.length} routes; statuses ${counts}\n`);
    expect(failures.slice(0, 5)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(RUNS * PER_BATCH * 2);
    expect(routesHit.size).toBe(all.length);
  }, 180_000);
});
