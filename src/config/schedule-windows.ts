import { cronAt, endDays, type ScheduledWindow, type WindowChanges } from '../domain/schedule';
import type { PlanChanges, SchedulesConfig } from './operations.schema';

/* The configuration's schedules as the domain's windows (the domain imports nothing of config). */

/** Every window of the configuration, capacity plans first, in config order. */
export function windowsFromConfig(schedules: SchedulesConfig): ScheduledWindow[] {
  const tz = schedules.timezone;
  return [
    ...schedules.capacityPlans.map(
      (p): ScheduledWindow => ({
        id: p.id,
        kind: 'capacity-plan',
        pool: p.pool,
        timezone: tz,
        startCron: cronAt(p.days, p.from),
        endCron: cronAt(endDays(p.days, p.from, p.to), p.to),
        changes: changesOfPlan(p.set),
        reason: `capacity plan ${p.id}`,
      }),
    ),
    ...schedules.maintenanceWindows.map(
      (w): ScheduledWindow => ({
        id: w.id,
        kind: 'maintenance-window',
        pool: w.pool,
        timezone: tz,
        startCron: cronAt(w.days, w.from),
        endCron: cronAt(endDays(w.days, w.from, w.to), w.to),
        changes: { members: Object.fromEntries(w.members.map((m) => [m, { state: w.state }])) },
        reason: w.reason ?? `maintenance window ${w.id}`,
      }),
    ),
  ];
}

export function changesOfPlan(set: PlanChanges): WindowChanges {
  const c: WindowChanges = {};
  if (set.licenceLimit !== undefined) c.licenceLimit = set.licenceLimit;
  if (set.perEmployeeLimit !== undefined) c.perEmployeeLimit = set.perEmployeeLimit;
  if (set.maxSessionMinutes !== undefined) c.maxSessionMs = set.maxSessionMinutes === null ? null : set.maxSessionMinutes * 60_000;
  if (set.members) c.members = structuredClone(set.members);
  if (set.agencies) c.agencies = structuredClone(set.agencies);
  return c;
}
