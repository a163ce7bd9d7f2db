import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { getStorageToken } from '@nestjs/throttler';
import { randomUUID } from 'node:crypto';
import { createApp } from '../../src/app.factory';
import { mintToken, type TokenClaims } from '../../src/auth/token-minter';
import type { AppConfig } from '../../src/config/config.loader';
import { MetricsRepository } from '../../src/repositories/metrics.repository';
import { SharedRateLimitStorage } from '../../src/repositories/rate-limit-storage';
import { deleteKeys, testConfig } from '../support/test-app';

/**
 * Budgets from test/fixtures/rate-limits.yaml (per 60 s): unauthenticated 20 per address, grants 8,
 * reads 12, operator 6 per principal. Two replicas on one Redis under one key prefix share them;
 * on the embedded store one process keeps them. The replicas share their counts every 5 ms (the
 * fixture's syncMilliseconds); the requests here, spread over both, wait between them until both
 * have shared (`shared()`); what a flood without pauses gets is
 * test/repositories/redis/rate-limit-storage.test.ts's.
 */
describe.each([
  ['two replicas on one Redis', true],
  ['one replica, embedded store', false],
] as const)('rate limits (%s)', (_name, redis) => {
  let config: AppConfig;
  let replicas: NestFastifyApplication[];
  const token = (claims: Partial<TokenClaims> & { sub: string }) => mintToken({ agency: 'alpha', ...claims }, config.broker.auth, config.jwtSecret!);
  /** The replica for request i. */
  const on = (i: number) => replicas[i % replicas.length]!;
  /**
   * Both replicas share what they counted: each syncs with Redis (after any sync its timer has under
   * way), then each again, so each has learnt the other's hits. Awaited, not slept for: a pause of a
   * few sync intervals was too short on a loaded machine and let the 7th call through.
   */
  const shared = async () => {
    if (!redis) return;
    for (let round = 0; round < 2; round++) {
      for (const app of replicas) {
        const storage = app.get<SharedRateLimitStorage>(getStorageToken());
        await storage.sync();
        await storage.sync();
      }
    }
  };

  beforeEach(async () => {
    config = testConfig({ redis, file: 'rate-limits.yaml', env: redis ? { REDIS_KEY_PREFIX: `test:rl:${randomUUID()}:` } : {} });
    replicas = [];
    for (let i = 0; i < (redis ? 2 : 1); i++) {
      const app = await createApp(config, { quiet: true });
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
      replicas.push(app);
    }
  });
  afterEach(async () => {
    for (const app of replicas) await app.close();
    if (config.redis) await deleteKeys(config.redisKeyPrefix);
  });

  const limitedCount = (app: NestFastifyApplication, budget: string) =>
    app.get(MetricsRepository).value('broker_rate_limited_total').then((samples) => samples.filter((s) => s.labels.budget === budget).reduce((n, s) => n + s.value, 0));

  it('refuses the 13th read of one principal, spread over the replicas, with 429 problem+json and Retry-After', async () => {
    const reader = await token({ sub: 'reader' });
    const answers = [];
    for (let i = 0; i < 13; i++) answers.push(await shared().then(() => on(i).inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${reader}` } })));
    expect(answers.slice(0, 12).map((r) => r.statusCode)).toEqual(Array(12).fill(200));
    const last = answers[12]!;
    expect([last.statusCode, last.json().code]).toEqual([429, 'rate-limited']);
    expect(last.headers['content-type']).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(last.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(last.json().retryAfterSeconds).toBe(retryAfter);
    const counted = (await Promise.all(replicas.map((r) => limitedCount(r, 'reads')))).reduce((a, b) => a + b, 0);
    expect(counted).toBe(1);
    // Another principal has its own budget; the same principal's grants budget is untouched.
    expect((await on(0).inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${await token({ sub: 'other' })}` } })).statusCode).toBe(200);
    const g = await on(1).inject({ method: 'POST', url: '/v1/grants', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, payload: { pool: 'vpn-a' } });
    expect(g.statusCode).toBe(201);
  });

  it('counts bad tokens per client address before verifying them: the 21st is 429, not 401', async () => {
    const codes = [];
    for (let i = 0; i < 21; i++) {
      await shared();
      const res = await on(i).inject({ method: 'GET', url: '/v1/pools', headers: { authorization: `Bearer a.b.c${i}` }, remoteAddress: '203.0.113.7' });
      codes.push(res.json().code);
    }
    expect(codes.slice(0, 20)).toEqual(Array(20).fill('token-invalid'));
    expect(codes[20]).toBe('rate-limited');
    // Another address still gets its answer; so do the health probes from the limited one.
    const other = await on(0).inject({ method: 'GET', url: '/v1/pools', remoteAddress: '203.0.113.8' });
    expect(other.json().code).toBe('token-missing');
    expect((await on(1).inject({ method: 'GET', url: '/health/live', remoteAddress: '203.0.113.7' })).statusCode).toBe(200);
    // A valid token from the limited address is counted per principal, not per address.
    const ok = await on(1).inject({ method: 'GET', url: '/v1/pools', headers: { authorization: `Bearer ${await token({ sub: 'nat-user' })}` }, remoteAddress: '203.0.113.7' });
    expect(ok.statusCode).toBe(200);
  });

  it('keeps grants, reads and operator calls in separate budgets', async () => {
    const op = await token({ sub: 'op', roles: ['operator'] });
    const h = { authorization: `Bearer ${op}`, 'content-type': 'application/json' };
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await shared().then(() => on(i).inject({ method: 'GET', url: '/v1/pools/vpn-a/overrides', headers: h }))).statusCode);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    // The operator's reads of the public API and its grant requests are other budgets.
    expect((await on(0).inject({ method: 'GET', url: '/v1/pools/vpn-a', headers: h })).statusCode).toBe(200);
    expect((await on(1).inject({ method: 'POST', url: '/v1/grants', headers: h, payload: { pool: 'vpn-a' } })).statusCode).toBe(201);
  });
});
