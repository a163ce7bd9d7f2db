import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '../../src/auth/auth.guard';
import { AuthService } from '../../src/auth/auth.service';
import { RateLimitGuard, throttlerOptions } from '../../src/auth/rate-limit.guard';
import { mintToken } from '../../src/auth/token-minter';
import type { AppConfig } from '../../src/config/config.loader';
import { BrokerError } from '../../src/errors/error-codes';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { MetricsRepository } from '../../src/repositories/metrics.repository';
import { SharedRateLimitStorage } from '../../src/repositories/rate-limit-storage';
import { PseudonymService } from '../../src/services/pseudonym.service';
import { httpContextOf } from '../support/http-context';
import { startTestApp, testConfig, type TestApp } from '../support/test-app';

type Req = { method: string; ip: string; headers: { authorization?: string }; routeOptions: { url: string }; principal?: unknown };

function request(authorization?: string): Req {
  return { method: 'POST', ip: '198.51.100.1', headers: authorization === undefined ? {} : { authorization }, routeOptions: { url: '/v1/grants' } };
}

/** A route without metadata: it needs a valid token, of any role. */
function contextOf(req: Req): ExecutionContext {
  return httpContextOf(req);
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    return e instanceof BrokerError ? { code: e.code, message: e.message } : e;
  }
}

/** RateLimitGuard, then AuthGuard, as the app provides them (src/security.module.ts); one token check per request. */
describe('the guards authenticate a request once', () => {
  let app: AppConfig;
  let auth: AuthService;
  let storage: SharedRateLimitStorage;
  let verifications: jest.SpyInstance;

  async function guards(rateLimitsEnabled = true): Promise<{ rateLimit: RateLimitGuard; authGuard: AuthGuard }> {
    const config = new ConfigRepository({ ...app, broker: { ...app.broker, rateLimits: { ...app.broker.rateLimits, enabled: rateLimitsEnabled } } });
    auth = new AuthService(config, new PseudonymService(config));
    verifications = jest.spyOn(auth, 'verify');
    storage = new SharedRateLimitStorage(null, { syncMs: 50 });
    const rateLimit = new RateLimitGuard(throttlerOptions(config, storage), storage, new Reflector(), auth, config, new MetricsRepository());
    await rateLimit.onModuleInit();
    return { rateLimit, authGuard: new AuthGuard(auth, new Reflector()) };
  }

  /** What AuthService says of this header on its own: the answer AuthGuard gave before the guards shared it. */
  const refusalOf = async (authorization: string | undefined) => {
    const config = new ConfigRepository(app);
    return outcome(new AuthService(config, new PseudonymService(config)).authenticate(authorization));
  };

  beforeEach(() => {
    app = testConfig();
  });
  afterEach(async () => {
    await storage?.close();
  });

  it('verifies a valid token once for both guards, and again for the next request', async () => {
    const { rateLimit, authGuard } = await guards();
    const token = await mintToken({ sub: 'emp-1', agency: 'alpha' }, app.broker.auth, app.jwtSecret!);
    const req = request(`Bearer ${token}`);
    await expect(rateLimit.canActivate(contextOf(req))).resolves.toBe(true);
    await expect(authGuard.canActivate(contextOf(req))).resolves.toBe(true);
    expect(req.principal).toMatchObject({ agency: 'alpha' });
    expect(verifications).toHaveBeenCalledTimes(1);
    // Another request with the same token is checked on its own (served by the token cache).
    const next = request(`Bearer ${token}`);
    await rateLimit.canActivate(contextOf(next));
    await authGuard.canActivate(contextOf(next));
    expect(next.principal).toBe(req.principal);
    expect(verifications).toHaveBeenCalledTimes(2);
  });

  it.each([
    ['a token that does not verify', 'Bearer a.b.c'],
    ['a header that is not a bearer JWT', 'Basic dXNlcjpwYXNz'],
    ['no header', undefined],
  ])('refuses %s in AuthGuard with the same error after the rate-limit guard let it through', async (_name, authorization) => {
    const { rateLimit, authGuard } = await guards();
    const req = request(authorization);
    await expect(rateLimit.canActivate(contextOf(req))).resolves.toBe(true);
    const refusal = await outcome(authGuard.canActivate(contextOf(req)));
    expect(refusal).toEqual(await refusalOf(authorization));
    expect(refusal).toMatchObject({ code: authorization ? 'token-invalid' : 'token-missing' });
    expect(req.principal).toBeUndefined();
    expect(verifications).toHaveBeenCalledTimes(authorization === 'Bearer a.b.c' ? 1 : 0);
  });

  it('lets AuthGuard decide alone where the rate-limit guard does not run (rate limits off)', async () => {
    const { rateLimit, authGuard } = await guards(false);
    const bad = request('Bearer a.b.c');
    await expect(rateLimit.canActivate(contextOf(bad))).resolves.toBe(true);
    expect(verifications).not.toHaveBeenCalled();
    expect(await outcome(authGuard.canActivate(contextOf(bad)))).toEqual(await refusalOf('Bearer a.b.c'));
    const good = request(`Bearer ${await mintToken({ sub: 'emp-1', agency: 'alpha' }, app.broker.auth, app.jwtSecret!)}`);
    await expect(authGuard.canActivate(contextOf(good))).resolves.toBe(true);
    expect(good.principal).toMatchObject({ agency: 'alpha' });
    expect(verifications).toHaveBeenCalledTimes(2);
  });
});

describe('one token check per request through the app', () => {
  let t: TestApp;
  let verifications: jest.SpyInstance;
  beforeAll(async () => {
    t = await startTestApp();
    verifications = jest.spyOn(t.app.get(AuthService), 'verify');
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => verifications.mockClear());

  const grant = (authorization: string) =>
    t.app.inject({ method: 'POST', url: '/v1/grants', headers: { authorization, 'content-type': 'application/json' }, payload: { pool: 'vpn-a' } });

  it('grants with one verification of the token', async () => {
    const res = await grant(`Bearer ${await t.token({ sub: 'emp-once' })}`);
    expect(res.statusCode).toBe(201);
    expect(verifications).toHaveBeenCalledTimes(1);
  });

  it('refuses a bad token with 401 token-invalid after one verification', async () => {
    const res = await grant('Bearer a.b.c');
    expect([res.statusCode, res.json().code]).toEqual([401, 'token-invalid']);
    expect(verifications).toHaveBeenCalledTimes(1);
  });
});
