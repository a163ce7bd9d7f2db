import { Reflector } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import crypto from 'node:crypto';
import { AuthService } from '../../src/auth/auth.service';
import type { Principal } from '../../src/auth/principal';
import { RateLimitGuard, throttlerOptions, trackerOf } from '../../src/auth/rate-limit.guard';
import { mintToken } from '../../src/auth/token-minter';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { MetricsRepository } from '../../src/repositories/metrics.repository';
import { PseudonymService } from '../../src/services/pseudonym.service';
import { httpContextOf } from '../support/http-context';
import { testConfig } from '../support/test-app';

/** The key part as every release so far has written it: replicas of two releases on one Redis share budgets. */
const sha = (tracker: string) => crypto.createHash('sha256').update(tracker).digest('base64url').slice(0, 22);


describe('rate-limit keys', () => {
  it('counts a principal under sha256("principal:<pseudonym>") and a refused token under sha256("address:<ip>"), as before', async () => {
    const app = testConfig({ env: { REDIS_KEY_PREFIX: 'rl-test:' } });
    const config = new ConfigRepository(app);
    const pseudonyms = new PseudonymService(config);
    const keys: string[] = [];
    const storage: ThrottlerStorage = {
      increment: async (key) => {
        keys.push(key);
        return { totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 };
      },
    };
    const guard = new RateLimitGuard(throttlerOptions(config, storage), storage, new Reflector(), new AuthService(config, pseudonyms), config, new MetricsRepository());
    await guard.onModuleInit();
    const token = await mintToken({ sub: 'emp-7', agency: 'alpha' }, app.broker.auth, app.jwtSecret!);
    for (const [method, authorization] of [
      ['POST', `Bearer ${token}`],
      ['GET', `Bearer ${token}`],
      ['POST', 'Bearer a.b.c'],
    ] as const) {
      const req = { method, ip: '198.51.100.9', headers: { authorization }, routeOptions: { url: '/v1/grants' } };
      await expect(guard.canActivate(httpContextOf(req))).resolves.toBe(true);
    }
    const principal = sha(`principal:${pseudonyms.of('emp-7')}`);
    expect(keys).toEqual([`rl-test:rl:grants:${principal}`, `rl-test:rl:reads:${principal}`, `rl-test:rl:unauthenticated:${sha('address:198.51.100.9')}`]);
  });

  it('hashes a principal once while the same Principal recurs; another Principal of the same caller has the same key', () => {
    const hashes = jest.spyOn(crypto, 'createHash');
    try {
      const principal: Principal = { owner: 'pseudonym-of-trackerOf-test', agency: 'alpha', roles: new Set(['employee']), members: new Set() };
      const first = trackerOf(principal, '198.51.100.1');
      expect(trackerOf(principal, '198.51.100.2')).toBe(first);
      expect(hashes).toHaveBeenCalledTimes(1);
      expect(trackerOf({ ...principal }, '198.51.100.1')).toBe(first);
      expect(first).toBe(sha('principal:pseudonym-of-trackerOf-test'));
    } finally {
      hashes.mockRestore();
    }
  });
});
