import { ExecutionContext, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerOptions, InjectThrottlerStorage, normalizeIp, ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerModuleOptions, type ThrottlerRequest, type ThrottlerStorage } from '@nestjs/throttler';
import { LRUCache } from 'lru-cache';
import { createHash } from 'node:crypto';
import type { RateBudget } from '../config/broker-config.schema';
import { BrokerError } from '../errors/error-codes';
import { ConfigRepository } from '../repositories/config.repository';
import { SharedRateLimitStorage } from '../repositories/rate-limit-storage';
import { MetricsRepository, type CounterMetric } from '../repositories/metrics.repository';
import { AuthService } from './auth.service';
import type { AuthedRequest } from './auth.guard';
import type { Principal } from './principal';
import { routeMetadata } from './route-metadata';

/** rateTracker: whom the request is counted for, hashed (trackerOf). */
type LimitedRequest = AuthedRequest & { rateBudget?: RateBudget; rateTracker?: string };

/**
 * Which budget a request spends (docs/security.md, "Rate limits"): without a verified token,
 * `unauthenticated` per client address; with one, per principal, `operator` on routes only operators
 * may call, `reads` on GET/HEAD, `grants` on everything else.
 */
export function budgetOf(principal: Principal | null, method: string, roles: readonly string[] | undefined): RateBudget {
  if (!principal) return 'unauthenticated';
  if (roles?.length === 1 && roles[0] === 'operator') return 'operator';
  return method === 'GET' || method === 'HEAD' ? 'reads' : 'grants';
}

/**
 * @nestjs/throttler's guard with one named throttler per budget, of which each request spends exactly
 * one (the library's handleRequest and block logic; the count is the storage's, in this process and,
 * with Redis, shared in batches: src/repositories/rate-limit-storage.ts). Runs before AuthGuard, so requests with bad tokens are limited before
 * they cost a verification each; it verifies the token itself to count per principal (through
 * AuthService.authenticateRequest, so AuthGuard after it reuses this outcome instead of checking the
 * token again). AuthGuard still decides every request on its own: this guard only ever refuses.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly log = new Logger('RateLimit');
  private readonly limited: CounterMetric<'budget' | 'route'>;
  private readonly storeErrors: CounterMetric<'budget'>;
  private lastStoreWarning = 0;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly auth: AuthService,
    private readonly config: ConfigRepository,
    metrics: MetricsRepository,
  ) {
    super(options, storage, reflector);
    this.limited = metrics.counter('broker_rate_limited_total', 'Requests refused with 429 rate-limited, by budget and route pattern (never by caller).', ['budget', 'route']);
    this.storeErrors = metrics.counter(
      'broker_rate_limit_store_errors_total',
      'Rate-limit failures of the shared storage (Redis), by budget: syncs it did not answer (this replica judged on its own counts meanwhile), or requests let through unlimited.',
      ['budget'],
    );
    if (storage instanceof SharedRateLimitStorage) {
      storage.onSyncError = (budgets, e) => {
        for (const budget of budgets) this.storeErrors.inc({ budget });
        this.warnStore(`rate-limit budgets not shared with the other replicas (each counts alone): ${e.message}`);
      };
    }
  }

  private warnStore(message: string): void {
    if (Date.now() - this.lastStoreWarning > 10_000) {
      this.lastStoreWarning = Date.now();
      this.log.warn(message);
    }
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || !this.config.get().broker.rateLimits.enabled) return true;
    const route = routeMetadata(this.reflector, context);
    if (route.noRateLimit) return true;
    const req = context.switchToHttp().getRequest<LimitedRequest>();
    const principal = route.isPublic ? null : await this.auth.authenticateRequest(req).catch(() => null);
    const budget = budgetOf(principal, req.method, route.roles);
    req.rateBudget = budget;
    req.rateTracker = trackerOf(principal, req.ip);
    // Straight to the one throttler this request spends: the base class would visit all four, with
    // six metadata look-ups each, to skip three (this guard has no per-route @Throttle overrides).
    const throttler = this.throttlers.find((th) => th.name === budget)!;
    const ttl = throttler.ttl as number;
    return this.handleRequest({
      context,
      throttler,
      limit: throttler.limit as number,
      ttl,
      blockDuration: ttl,
      getTracker: this.commonOptions.getTracker!,
      generateKey: this.commonOptions.generateKey!,
    });
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(props);
    } catch (e) {
      if (e instanceof BrokerError) throw e;
      // The storage (Redis) is away: the request goes on unlimited rather than fail; the store
      // calls it makes will answer store-unavailable on their own.
      this.storeErrors.inc({ budget: props.throttler.name ?? 'default' });
      this.warnStore(`rate-limit storage failed, requests go unlimited: ${(e as Error).message}`);
      return true;
    }
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const req = context.switchToHttp().getRequest<LimitedRequest>();
    const budget = req.rateBudget ?? 'unauthenticated';
    this.limited.inc({ budget, route: req.routeOptions?.url ?? 'unknown' });
    throw new BrokerError('rate-limited', `over the ${budget} budget of ${detail.limit} requests per ${Math.round(detail.ttl / 1000)} s; retry after ${detail.timeToBlockExpire} s`, {
      retryAfterSeconds: Math.max(1, detail.timeToBlockExpire),
    });
  }
}

/** The rate-limit key part of a tracker: neither an address nor a pseudonym lands in Redis as it came. */
function hashed(tracker: string): string {
  return createHash('sha256').update(tracker).digest('base64url').slice(0, 22);
}

/**
 * Hashed trackers of principals, kept with the Principal object: AuthService's token cache hands out
 * the same object for every request with a token, so a caller's requests hash once per cached token,
 * without the string building and LRU look-up a tracker string needs.
 */
const principalTrackers = new WeakMap<Principal, string>();
/** Addresses hashed lately: a caller's next requests skip the SHA-256 (1–2 % of a request's CPU). */
const addressTrackers = new LRUCache<string, string>({ max: 20_000 });

/** Whom a request is counted for, hashed: its principal if its token verified, else its client address. */
export function trackerOf(principal: Principal | null, ip: string): string {
  if (principal) {
    let h = principalTrackers.get(principal);
    if (h === undefined) principalTrackers.set(principal, (h = hashed(`principal:${principal.owner}`)));
    return h;
  }
  const address = `address:${normalizeIp(ip)}`;
  let h = addressTrackers.get(address);
  if (h === undefined) addressTrackers.set(address, (h = hashed(address)));
  return h;
}

/** The throttler options: one named throttler per budget; RateLimitGuard picks the one a request spends. */
export function throttlerOptions(config: ConfigRepository, storage?: ThrottlerStorage): ThrottlerModuleOptions {
  const { broker, redisKeyPrefix } = config.get();
  const budgets = broker.rateLimits;
  const names: RateBudget[] = ['unauthenticated', 'grants', 'reads', 'operator'];
  return {
    setHeaders: false,
    ...(storage ? { storage } : {}),
    // RateLimitGuard sets the tracker already hashed (trackerOf): neither an address nor a pseudonym lands in Redis as it came.
    getTracker: (req) => (req as LimitedRequest).rateTracker ?? hashed('unknown'),
    generateKey: (_ctx, tracker, name) => `${redisKeyPrefix}rl:${name}:${tracker}`,
    throttlers: names.map((name) => ({ name, limit: budgets[name].limit, ttl: budgets[name].windowSeconds * 1000 })),
  };
}
