import { z } from 'zod';
import { BULK_RENEWAL_MAX_IDS } from '../domain/grant';
import { MEMBER_TOO_LARGE } from '../domain/pool-overrides';
import { checkOperations } from './operations.check';
import { auditSchema, circuitBreakerSchema, schedulesSchema } from './operations.schema';

/**
 * The capacity model, as written in the YAML file named by BROKER_CONFIG.
 * Every object is strict: an unknown key is a typo and stops start-up.
 */

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, starting with a letter or digit, at most 63 characters');

const positiveInt = z.number().int('must be a whole number').positive('must be greater than 0');
const nonNegativeInt = z.number().int('must be a whole number').min(0, 'must be 0 or more');

export const memberStates = ['active', 'drain', 'out-of-service'] as const;
export const strategies = ['breadth-first', 'depth-first'] as const;
export const poolKinds = ['vpn', 'vdi'] as const;

export const memberSchema = z
  .object({
    id,
    /** Host name or address of the gateway / session host, shown to operators and returned in grants. */
    host: z.string().min(1).max(255).optional(),
    maxSessions: positiveInt.max(BULK_RENEWAL_MAX_IDS, MEMBER_TOO_LARGE),
    state: z.enum(memberStates).default('active'),
  })
  .strict();

export const poolSchema = z
  .object({
    id,
    kind: z.enum(poolKinds),
    name: z.string().min(1).max(200).optional(),
    strategy: z.enum(strategies).default('breadth-first'),
    /** Optional licence cap on concurrent sessions across all members. */
    licenceLimit: positiveInt.optional(),
    /** Concurrent sessions one employee may hold in this pool. */
    perEmployeeLimit: positiveInt.optional(),
    leaseTtlSeconds: positiveInt.max(86_400).optional(),
    /** Retry-After sent with capacity refusals. */
    retryAfterSeconds: positiveInt.max(3_600).optional(),
    /** A session ends at the latest this long after it was granted (renewals stop there); a warning is pushed before. */
    maxSessionMinutes: positiveInt.max(10_080).optional(),
    /** Priority class id → slots of this pool only that class (or a higher one) may use. */
    headroom: z.record(z.string(), nonNegativeInt).optional(),
    /** This pool's cap on admissions per second; absent: its share of waitingRoom.admissionsPerSecond by configured capacity. */
    admissionsPerSecond: positiveInt.max(100_000).optional(),
    members: z.array(memberSchema).min(1, 'a pool needs at least one member'),
  })
  .strict();

export const entitlementSchema = z
  .object({
    guaranteed: nonNegativeInt.default(0),
    maximum: positiveInt,
  })
  .strict()
  .refine((e) => e.guaranteed <= e.maximum, { message: 'guaranteed must not exceed maximum', path: ['guaranteed'] });

export const agencySchema = z
  .object({
    id,
    name: z.string().min(1).max(200).optional(),
    /** Pool id → share of that pool. */
    pools: z.record(z.string(), entitlementSchema),
  })
  .strict();

export const authSchema = z
  .object({
    /**
     * hs256: shared secret from BROKER_JWT_SECRET (or, for the embedded default, a generated dev secret);
     * public-key: PEM file (RS256/ES256/EdDSA); jwks: keys fetched from a JWKS URL.
     */
    mode: z.enum(['hs256', 'public-key', 'jwks']).default('hs256'),
    publicKeyFile: z.string().min(1).optional(),
    jwksUrl: z.string().url().optional(),
    algorithms: z.array(z.string().min(1)).min(1).optional(),
    issuer: z.string().min(1).default('telework-broker-dev'),
    audience: z.string().min(1).default('telework-broker'),
    clockToleranceSeconds: nonNegativeInt.max(300).default(5),
    /** Tokens must carry exp, at most this far after iat (or after now, without iat); longer-lived tokens are refused. */
    maxTokenLifetimeSeconds: positiveInt.max(7 * 86_400).default(86_400),
    /**
     * Verified tokens kept per process (~1 KB each), so a client's next request skips the signature
     * check. Size it above the sessions held: each client renews with its own token, and a cache
     * smaller than that working set misses on every renewal (docs/performance.md, third pass).
     */
    tokenCacheSize: positiveInt.max(1_000_000).default(100_000),
    claims: z
      .object({
        agency: z.string().min(1).default('agency'),
        roles: z.string().min(1).default('roles'),
        members: z.string().min(1).default('members'),
        /** Names a priority class directly (trusted: the identity provider issues it). */
        priority: z.string().min(1).default('priority'),
        /** Groups, mapped to priority classes by priorities.classes[].groups. */
        groups: z.string().min(1).default('groups'),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.mode === 'public-key' && !a.publicKeyFile) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['publicKeyFile'], message: 'required when mode is public-key' });
    }
    if (a.mode === 'jwks' && !a.jwksUrl) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['jwksUrl'], message: 'required when mode is jwks' });
    }
  });

const ipAddress = z.string().ip();
const cidr = z.string().cidr();
/** What Fastify's trustProxy takes for one proxy: an address, a CIDR, or one of proxy-addr's named ranges. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const proxyAddress = z
  .string()
  .refine((s) => ipAddress.safeParse(s).success || cidr.safeParse(s).success || PROXY_RANGES.has(s), {
    message: 'must be an IP address, a CIDR (10.0.0.0/8) or one of loopback, linklocal, uniquelocal',
  });

/** HTTP server timeouts (docs/security.md, "Limits"); every one bounds how long a slow or silent client holds a connection. */
export const httpSchema = z
  .object({
    /** A whole request, headers and body, must arrive within this (408 request-timeout); 4 MB bulk renewals at 1 Mbit/s take 32 s. */
    requestTimeoutSeconds: positiveInt.max(600).default(60),
    /** The request headers must arrive within this (408). */
    headersTimeoutSeconds: positiveInt.max(600).default(15),
    /** An idle kept-alive connection is closed after this; above the 60 s idle timeout of common load balancers. */
    keepAliveTimeoutSeconds: positiveInt.max(3_600).default(72),
    /**
     * Which X-Forwarded-For hops to believe for the client address (rate limits count per address):
     * true = every hop (the leftmost address), or the proxies' addresses/CIDRs. A hop count is refused:
     * it cannot tell a proxy from a client that reaches the broker directly (Fastify 5.12 trusts no
     * hop given one, which would put every client behind the ingress on one address).
     */
    trustProxy: z
      .union([z.boolean(), z.array(proxyAddress).min(1), z.number()])
      .refine((v): v is boolean | string[] => typeof v !== 'number', {
        message: 'a number of proxies cannot tell a proxy from a client that reaches the broker directly: give the proxies\' addresses or CIDRs (e.g. ["10.0.0.0/8"]), or true',
      })
      .default(true),
  })
  .strict()
  .refine((h) => h.headersTimeoutSeconds <= h.requestTimeoutSeconds, { message: 'headersTimeoutSeconds must not exceed requestTimeoutSeconds', path: ['headersTimeoutSeconds'] });

const budget = (limit: number, windowSeconds: number) =>
  z
    .object({
      /** Requests allowed per window; one more is refused with 429 rate-limited until the window has passed. */
      limit: positiveInt.max(1_000_000).default(limit),
      windowSeconds: positiveInt.max(3_600).default(windowSeconds),
    })
    .strict()
    .default({});

/**
 * Request budgets (docs/security.md, "Rate limits"): shared through Redis when Redis is the store, so a
 * replica more does not add a budget. Authenticated requests count per principal (the pseudonym), the
 * rest per client address. The defaults leave the sample's logon storm and gateway bulk renewals at
 * a seventh of them or less (the headroom is worked out in docs/security.md).
 */
export const rateLimitsSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Per client address: requests without a valid token (public pages, /metrics, /docs, refused tokens). /health is never limited. */
    unauthenticated: budget(1_000, 10),
    /** Per principal: everything that changes state (grants, heartbeats, releases, waiting-room calls, bulk renewals, failure reports). */
    grants: budget(50, 10),
    /** Per principal: GET and HEAD of the API. */
    reads: budget(100, 10),
    /** Per principal: the operator-only routes (/v1/pools/... changes and overrides, /v1/audit). */
    operator: budget(100, 10),
    /**
     * With Redis: how often each replica adds the hits it counted to the shared budgets and learns the
     * others' (one batch). A caller spreading a flood over replicas can overspend by what it sends
     * within this interval.
     */
    syncMilliseconds: positiveInt.min(5).max(1_000).default(50),
  })
  .strict();

export const rateBudgets = ['unauthenticated', 'grants', 'reads', 'operator'] as const;
export type RateBudget = (typeof rateBudgets)[number];

export const brokerConfigSchema = z
  .object({
    auth: authSchema.default({}),
    http: httpSchema.default({}),
    rateLimits: rateLimitsSchema.default({}),
    leases: z
      .object({
        defaultTtlSeconds: positiveInt.max(86_400).default(120),
        /** The longest time between two sweeps; a sweep runs sooner when a lease is due (docs/admission.md, "Expiry"). */
        sweepIntervalSeconds: positiveInt.max(3_600).default(5),
        /** Expired leases reclaimed per admission (the sweep loops until none are left). */
        reapBatch: positiveInt.max(10_000).default(100),
        /** A bulk renewal leaves unreported leases younger than this alone (the client may still be connecting). */
        bulkRenewalGraceSeconds: nonNegativeInt.max(3_600).default(60),
        /** Employees are warned this long before a session reaches its pool's maximum duration. */
        endWarningMinutes: positiveInt.max(1_440).default(10),
      })
      .strict()
      .default({}),
    idempotency: z.object({ ttlSeconds: positiveInt.max(86_400).default(600) }).strict().default({}),
    defaults: z
      .object({
        perEmployeeLimit: positiveInt.default(1),
        retryAfterSeconds: positiveInt.max(3_600).default(30),
      })
      .strict()
      .default({}),
    /** Priority classes (docs/admission.md, "Priority classes"): a higher rank goes first in line and may use headroom reserved for ranks up to it. */
    priorities: z
      .object({
        default: id.default('standard'),
        classes: z
          .array(
            z
              .object({
                id,
                rank: z.number().int('must be a whole number').min(0).max(999),
                /** Token groups that put an employee in this class (the highest-ranked match wins). */
                groups: z.array(z.string().min(1).max(200)).default([]),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({}),
    /** The waiting room of every pool (docs/admission.md, "Waiting room"). */
    waitingRoom: z
      .object({
        claimWindowSeconds: positiveInt.max(600).default(30),
        checkInSeconds: positiveInt.max(600).default(30),
        maxWaiters: positiveInt.max(1_000_000).default(100_000),
        /** Broker-wide cap on admissions per second, shared among pools by configured capacity; absent: none. */
        admissionsPerSecond: positiveInt.max(100_000).optional(),
      })
      .strict()
      .default({}),
    pools: z.array(poolSchema).min(1, 'at least one pool is needed'),
    agencies: z.array(agencySchema).min(1, 'at least one agency is needed'),
    /** Capacity plans and maintenance windows (docs/operations.md). */
    schedules: schedulesSchema.default({}),
    /** Absent: members are never taken out automatically. */
    circuitBreaker: circuitBreakerSchema.optional(),
    audit: auditSchema.default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const poolIds = new Map<string, number>();
    cfg.pools.forEach((p, i) => {
      if (poolIds.has(p.id)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['pools', i, 'id'], message: `duplicate pool id "${p.id}"` });
      }
      poolIds.set(p.id, i);
      const seen = new Set<string>();
      p.members.forEach((m, j) => {
        if (seen.has(m.id)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['pools', i, 'members', j, 'id'], message: `duplicate member id "${m.id}" in pool "${p.id}"` });
        }
        seen.add(m.id);
      });
    });
    const classIds = new Set([cfg.priorities.default, ...cfg.priorities.classes.map((c) => c.id)]);
    cfg.pools.forEach((p, i) => {
      for (const cls of Object.keys(p.headroom ?? {})) {
        if (!classIds.has(cls)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['pools', i, 'headroom', cls], message: `unknown priority class "${cls}"` });
      }
    });
    const agencyIds = new Set<string>();
    const guaranteedByPool = new Map<string, number>();
    cfg.agencies.forEach((a, i) => {
      if (agencyIds.has(a.id)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['agencies', i, 'id'], message: `duplicate agency id "${a.id}"` });
      }
      agencyIds.add(a.id);
      for (const [poolId, e] of Object.entries(a.pools)) {
        if (!poolIds.has(poolId)) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['agencies', i, 'pools', poolId], message: `unknown pool "${poolId}"` });
          continue;
        }
        guaranteedByPool.set(poolId, (guaranteedByPool.get(poolId) ?? 0) + e.guaranteed);
      }
    });
    for (const [poolId, sum] of guaranteedByPool) {
      const i = poolIds.get(poolId)!;
      const pool = cfg.pools[i]!;
      const capacity = configuredCapacity(pool);
      if (sum > capacity) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['pools', i],
          message: `guaranteed shares of all agencies add up to ${sum}, more than the pool's capacity of ${capacity}`,
        });
      }
    }
    checkOperations(cfg as BrokerConfig, ctx);
  });

export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;
export type BrokerConfig = z.output<typeof brokerConfigSchema>;
export type PoolConfig = BrokerConfig['pools'][number];
export type MemberConfig = PoolConfig['members'][number];
export type AgencyConfig = BrokerConfig['agencies'][number];
export type AuthConfig = BrokerConfig['auth'];

/** Capacity with every member in service, capped by the licence limit. */
export function configuredCapacity(pool: { members: { maxSessions: number }[]; licenceLimit?: number }): number {
  const sum = pool.members.reduce((s, m) => s + m.maxSessions, 0);
  return pool.licenceLimit === undefined ? sum : Math.min(sum, pool.licenceLimit);
}
