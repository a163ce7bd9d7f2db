import { z } from 'zod';
import { weekdays } from '../domain/schedule';

/*
 * Optional sections of the config file for operations (docs/operations.md):
 * schedules (capacity plans, maintenance windows), the circuit breaker and the
 * audit trail's retention. Strict like the rest of the file.
 */

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes, starting with a letter or digit, at most 63 characters');
const positiveInt = z.number().int('must be a whole number').positive('must be greater than 0');
const nonNegativeInt = z.number().int('must be a whole number').min(0, 'must be 0 or more');


/** `HH:MM`, or `HH:MM:SS`, 24-hour wall time in the schedules' time zone. */
export const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be a time of day as HH:MM (24 h), optionally HH:MM:SS');

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const windowFields = {
  id,
  pool: id,
  /** Weekdays the window starts on. */
  days: z.array(z.enum(weekdays)).min(1, 'name at least one weekday'),
  from: timeOfDay,
  /** The end; at or before `from`, the window ends the next day. */
  to: timeOfDay,
};

/** What a capacity plan sets while it is in force (the same fields an operator may change). */
export const planChangesSchema = z
  .object({
    licenceLimit: positiveInt.nullable().optional(),
    perEmployeeLimit: positiveInt.optional(),
    maxSessionMinutes: positiveInt.max(10_080).nullable().optional(),
    members: z
      .record(
        id,
        z
          .object({ maxSessions: positiveInt.optional(), state: z.enum(['active', 'drain', 'out-of-service']).optional() })
          .strict()
          .refine((m) => m.maxSessions !== undefined || m.state !== undefined, { message: 'set maxSessions, state or both' }),
      )
      .optional(),
    agencies: z
      .record(
        id,
        z
          .object({ guaranteed: nonNegativeInt.optional(), maximum: positiveInt.optional() })
          .strict()
          .refine((a) => a.guaranteed !== undefined || a.maximum !== undefined, { message: 'set guaranteed, maximum or both' }),
      )
      .optional(),
  })
  .strict()
  .refine((c) => Object.values(c).some((v) => v !== undefined), { message: 'a plan must change something' });

export const capacityPlanSchema = z.object({ ...windowFields, set: planChangesSchema }).strict();

export const maintenanceWindowSchema = z
  .object({
    ...windowFields,
    members: z.array(id).min(1, 'name at least one member'),
    /** What the members are during the window; they return to what they were (unless someone changed them since). */
    state: z.enum(['drain', 'out-of-service']).default('drain'),
    reason: z.string().min(1).max(200).optional(),
  })
  .strict();

export const schedulesSchema = z
  .object({
    /** IANA time zone of every plan's days and times. */
    timezone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').default('UTC'),
    capacityPlans: z.array(capacityPlanSchema).default([]),
    maintenanceWindows: z.array(maintenanceWindowSchema).default([]),
  })
  .strict();

export const circuitBreakerSchema = z
  .object({
    /** Distinct reporters of failures within the window that take a member out. */
    failureThreshold: positiveInt.max(10_000).default(5),
    windowSeconds: positiveInt.max(3_600).default(60),
    /** How long a tripped member stays out of service before it is tried again (half-open); null: until an operator returns it. */
    openSeconds: positiveInt.max(86_400).nullable().default(300),
    /** Probation after returning: one failure report in this time takes it out again, for twice as long. */
    halfOpenSeconds: positiveInt.max(86_400).default(300),
    /** A bulk renewal that reclaims at least `minimum` leases and `ratio` of the member's sessions at once trips the breaker. */
    massLoss: z
      .object({
        minimum: positiveInt.default(20),
        ratio: z.number().gt(0, 'must be above 0').max(1, 'must be at most 1').default(0.5),
      })
      .strict()
      .default({}),
  })
  .strict();

export const auditSchema = z
  .object({
    /** Records older than this are trimmed. */
    retentionDays: positiveInt.max(3_650).default(90),
    /** When the trim runs (cron expression, schedules' time zone). */
    trimCron: z.string().min(9).default('17 3 * * *'),
  })
  .strict();

export type SchedulesConfig = z.output<typeof schedulesSchema>;
export type CapacityPlanConfig = z.output<typeof capacityPlanSchema>;
export type MaintenanceWindowConfig = z.output<typeof maintenanceWindowSchema>;
export type PlanChanges = z.output<typeof planChangesSchema>;
export type CircuitBreakerConfig = z.output<typeof circuitBreakerSchema>;
export type AuditConfig = z.output<typeof auditSchema>;
