import { Reflector } from '@nestjs/core';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { AuthService } from '../../src/auth/auth.service';
import { RateLimitGuard, throttlerOptions } from '../../src/auth/rate-limit.guard';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { MetricsRepository } from '../../src/repositories/metrics.repository';
import { httpContextOf } from '../support/http-context';
import { testConfig } from '../support/test-app';

/** With its storage (Redis) away, the limiter lets requests through and counts them, instead of failing them. */
describe('rate limiting while its storage does not answer', () => {
  it('lets the request through, counted in broker_rate_limit_store_errors_total', async () => {
    const config = new ConfigRepository(testConfig());
    const failing: ThrottlerStorage = { increment: () => Promise.reject(new Error('Connection is closed.')) };
    const metrics = new MetricsRepository();
    const auth = { authenticateRequest: () => Promise.reject(new Error('no token')) } as unknown as AuthService;
    const guard = new RateLimitGuard(throttlerOptions(config, failing), failing, new Reflector(), auth, config, metrics);
    await guard.onModuleInit();
    const context = httpContextOf({ method: 'GET', ip: '198.51.100.1', headers: {}, routeOptions: { url: '/v1/pools' } });
    await expect(guard.canActivate(context)).resolves.toBe(true);
    await expect(guard.canActivate(context)).resolves.toBe(true);
    const samples = await metrics.value('broker_rate_limit_store_errors_total');
    expect(samples.map((s) => [s.labels.budget, s.value])).toEqual([['unauthenticated', 2]]);
  });
});
