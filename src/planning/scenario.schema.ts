import { z } from 'zod';
import { DEFAULT_ARRIVAL_PROFILE, SLOTS_PER_DAY } from './arrival-profile';

/**
 * A capacity-planning scenario, as written in YAML (scenarios/*.yaml).
 * Every object is strict: an unknown key is a typo and the scenario is refused
 * with the file, the path inside it and the reason (config.loader's ConfigError).
 */

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, starting with a letter or digit, at most 63 characters');
const positiveInt = z.number().int('must be a whole number').positive('must be greater than 0');
const positive = z.number().positive('must be greater than 0').finite('must be a finite number');
const share = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

/** Minutes, of a session or of a wait before retrying. */
export const durationSchema = z.discriminatedUnion(
  'distribution',
  [
    z
      .object({
        distribution: z.literal('lognormal'),
        /** The median duration; half of all sessions are shorter. */
        medianMinutes: positive,
        /** Standard deviation of the duration's logarithm (0.3 narrow … 1 wide). */
        sigma: positive.max(3, 'must be at most 3'),
        /** Longer draws are cut to this (nobody stays connected for days). */
        maxMinutes: positive.optional(),
      })
      .strict(),
    z
      .object({
        distribution: z.literal('exponential'),
        meanMinutes: positive,
        maxMinutes: positive.optional(),
      })
      .strict(),
    z.object({ distribution: z.literal('fixed'), minutes: positive }).strict(),
  ],
  { errorMap: (issue, ctx) => (issue.code === 'invalid_union_discriminator' ? { message: "must be one of 'lognormal', 'exponential', 'fixed'" } : { message: ctx.defaultError }) },
);
export type DurationSpec = z.output<typeof durationSchema>;

/** Capacities to test: a list, or a range. */
const candidatesSchema = z.union([
  z.array(positiveInt).min(1, 'give at least one capacity').max(60, 'at most 60 capacities'),
  z
    .object({ from: positiveInt, to: positiveInt, step: positiveInt })
    .strict()
    .refine((r) => r.to >= r.from, { message: 'to must not be below from', path: ['to'] })
    .refine((r) => Math.floor((r.to - r.from) / r.step) + 1 <= 60, { message: 'at most 60 capacities', path: ['step'] }),
]);

export const planPoolSchema = z
  .object({
    id,
    kind: z.enum(['vpn', 'vdi']),
    name: z.string().min(1).max(200).optional(),
    /** Capacity in service today (concurrent sessions); the report measures it and the replay runs against it. */
    capacity: positiveInt,
    /** Sessions one member (gateway, session host) carries: the recommendation is also given in members. */
    unitSize: positiveInt.optional(),
    /** Capacities shown in the refusal chart and table. Without them, a range around the recommendation. */
    candidates: candidatesSchema.optional(),
    /** The recommendation is searched to this many sessions; default about 1/1000 of the capacity. */
    resolution: positiveInt.optional(),
    sessionDuration: durationSchema,
  })
  .strict();

export const planAgencySchema = z
  .object({
    id,
    name: z.string().min(1).max(200).optional(),
    headcount: positiveInt,
    /** Share of the headcount working from home on the day modelled. */
    teleworkShare: share,
    /** Pool id → share of this agency's sessions; overrides the scenario's split. */
    split: z.record(z.string(), share).optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    name: id,
    description: z.string().max(2000).optional(),
    seed: z.number().int('must be a whole number').min(0, 'must be 0 or more').max(2 ** 32 - 1, 'must fit in 32 bits').default(1),
    replications: positiveInt.max(1000, 'must be at most 1000').default(20),
    /** Multiplies every agency's teleworkers: "what if telework doubles again" is 2. */
    growthFactor: positive.max(10, 'must be at most 10').default(1),
    target: z
      .object({
        /** Share of requests that may be refused (0.01 = 1 %). */
        refusedShare: z.number().gt(0, 'must be greater than 0').lt(1, 'must be less than 1').default(0.01),
        /** Where the share is measured: the busy hour (the teletraffic convention) or the whole day. */
        window: z.enum(['busy-hour', 'day']).default('busy-hour'),
        /**
         * Also ask that the share be met on at least this share of simulated days, not only on average
         * ("at most 1 % on 95 % of days" is refusedShare 0.01, daysShare 0.95). Absent: on average.
         */
        daysShare: z.number().gt(0, 'must be greater than 0').max(1, 'must be at most 1').optional(),
      })
      .strict()
      .default({}),
    arrivals: z
      .object({
        /** Session requests a teleworking employee makes in a day (reconnects after lunch, after a break). */
        sessionsPerTeleworker: positive.max(50, 'must be at most 50'),
        /**
         * Coefficient of variation of a day's volume from one simulated day to the next (weather,
         * school holidays, a strike): each day's requests are scaled by a log-normal factor with
         * mean 1 and this spread, the same for every pool. 0 makes every day alike.
         */
        dayToDayVariation: z.number().min(0, 'must be 0 or more').max(1, 'must be at most 1').default(0),
        /**
         * Relative weight of each 15-minute slot from 00:00 (96 numbers), or `default`:
         * the morning ramp, lunch and the afternoon ebb of an office day.
         */
        profile: z
          .union([z.literal('default'), z.array(z.number().min(0, 'weights must be 0 or more').finite()).length(SLOTS_PER_DAY, `must have ${SLOTS_PER_DAY} weights, one per 15 minutes from 00:00`)])
          .default('default')
          .refine((p) => p === 'default' || p.some((w) => w > 0), { message: 'at least one weight must be greater than 0' }),
      })
      .strict(),
    /** Pool id → share of all sessions that go to that pool; shares add up to 1. */
    split: z.record(z.string(), share),
    retry: z
      .object({
        /** Chance that an employee who was refused tries again (otherwise gives up). */
        probability: share,
        delay: durationSchema,
        /** Further attempts at most, after the first refusal. */
        maxRetries: z.number().int('must be a whole number').min(0, 'must be 0 or more').max(20, 'must be at most 20').default(3),
      })
      .strict()
      .default({ probability: 0, delay: { distribution: 'fixed', minutes: 5 }, maxRetries: 0 }),
    pools: z.array(planPoolSchema).min(1, 'at least one pool is needed').max(20, 'at most 20 pools'),
    agencies: z.array(planAgencySchema).min(1, 'at least one agency is needed'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const poolIds = new Set<string>();
    s.pools.forEach((p, i) => {
      if (poolIds.has(p.id)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['pools', i, 'id'], message: `duplicate pool id "${p.id}"` });
      poolIds.add(p.id);
    });
    const checkSplit = (split: Record<string, number>, path: (string | number)[]) => {
      for (const poolId of Object.keys(split)) {
        if (!poolIds.has(poolId)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...path, poolId], message: `unknown pool "${poolId}"` });
      }
      const sum = Object.values(split).reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 1) > 1e-6) ctx.addIssue({ code: z.ZodIssueCode.custom, path, message: `shares must add up to 1, not ${+sum.toFixed(6)}` });
    };
    checkSplit(s.split, ['split']);
    const agencyIds = new Set<string>();
    s.agencies.forEach((a, i) => {
      if (agencyIds.has(a.id)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['agencies', i, 'id'], message: `duplicate agency id "${a.id}"` });
      agencyIds.add(a.id);
      if (a.split) checkSplit(a.split, ['agencies', i, 'split']);
    });
    if (s.retry.probability > 0 && s.retry.maxRetries === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['retry', 'maxRetries'], message: 'must be at least 1 when probability is greater than 0' });
    }
    const demand = s.agencies.reduce((sum, a) => sum + a.headcount * a.teleworkShare, 0);
    if (demand <= 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['agencies'], message: 'no agency has teleworkers (headcount × teleworkShare is 0 everywhere)' });
  });

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type PlanPool = Scenario['pools'][number];
export type PlanAgency = Scenario['agencies'][number];

/** The 96 slot weights the scenario uses (its own, or the default profile). */
export function profileWeights(s: Scenario): readonly number[] {
  return s.arrivals.profile === 'default' ? DEFAULT_ARRIVAL_PROFILE : s.arrivals.profile;
}

/** The capacities a scenario lists for a pool, ascending and distinct (empty when it lists none). */
export function listedCandidates(pool: PlanPool): number[] {
  const c = pool.candidates;
  if (c === undefined) return [];
  const list = Array.isArray(c) ? c : Array.from({ length: Math.floor((c.to - c.from) / c.step) + 1 }, (_, i) => c.from + i * c.step);
  return [...new Set(list)].sort((a, b) => a - b);
}
