import { CronExpressionParser } from 'cron-parser';
import type { MemberOverride, PoolOverrides } from './pool-overrides';
import type { MemberState } from './pool-spec';

/** Weekdays as cron counts them (0 = Sunday); the config file names them so. */
export const weekdays = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof weekdays)[number];

/**
 * A scheduled window of a pool (docs/operations.md, "Schedules"): a capacity
 * plan or a maintenance window. At its start the window writes its changes
 * into the pool's runtime overrides; at its end it takes back those that still
 * hold its values (a change someone made since stays).
 */
export interface ScheduledWindow {
  id: string;
  kind: 'capacity-plan' | 'maintenance-window';
  pool: string;
  timezone: string;
  /** Six-field cron expressions (seconds first) of the window's start and end. */
  startCron: string;
  endCron: string;
  changes: WindowChanges;
  /** Shown as the state reason of members the window changes. */
  reason: string;
}

export interface WindowChanges {
  licenceLimit?: number | null;
  perEmployeeLimit?: number;
  maxSessionMs?: number | null;
  members?: Record<string, { maxSessions?: number; state?: MemberState }>;
  agencies?: Record<string, { guaranteed?: number; maximum?: number }>;
}

/** One boundary of a window: its start or end at one instant. */
export interface ScheduledStep {
  window: ScheduledWindow;
  phase: 'start' | 'end';
  /** The occurrence, epoch ms. */
  at: number;
}

/** The author of member states a window sets. */
export const scheduleAuthor = (windowId: string): string => `schedule:${windowId}`;

/** `HH:MM[:SS]` on these weekdays as a six-field cron expression. */
export function cronAt(days: readonly Weekday[], time: string): string {
  const [h, m, s = '0'] = time.split(':');
  const dow = [...new Set(days.map((d) => weekdays.indexOf(d)))].sort((a, b) => a - b).join(',');
  return `${Number(s)} ${Number(m)} ${Number(h)} * * ${dow}`;
}

/** A window whose end is at or before its start ends the next day. */
export function endDays(days: readonly Weekday[], from: string, to: string): Weekday[] {
  if (seconds(to) > seconds(from)) return [...days];
  return days.map((d) => weekdays[(weekdays.indexOf(d) + 1) % 7]!);
}

const seconds = (t: string): number => t.split(':').reduce((sum, part, i) => sum + Number(part) * [3600, 60, 1][i]!, 0);

/** The last occurrence of a cron expression at or before `now`, epoch ms. */
export function lastOccurrence(cron: string, timezone: string, now: number): number {
  return CronExpressionParser.parse(cron, { currentDate: new Date(now + 1), tz: timezone }).prev().getTime();
}

/**
 * The step of a window in force at `now`: its start if the last start came
 * after the last end (the window is open), else its end. Applying it (once)
 * brings the pool to what the plan says for now — this is how a broker that
 * was down when a step was due catches up at start-up.
 */
export function stepInForce(window: ScheduledWindow, now: number): ScheduledStep {
  const start = lastOccurrence(window.startCron, window.timezone, now);
  const end = lastOccurrence(window.endCron, window.timezone, now);
  return start > end ? { window, phase: 'start', at: start } : { window, phase: 'end', at: end };
}

/** The name under which one occurrence of a step is claimed across replicas. */
export function stepName(step: ScheduledStep): string {
  return `schedule:${step.window.pool}:${step.window.id}:${step.phase}:${step.at}`;
}

/** The overrides with the window's changes written in (a window's start). */
export function overridesAtStart(o: PoolOverrides, w: ScheduledWindow, now: number): PoolOverrides {
  const next = structuredClone(o);
  const c = w.changes;
  if (c.licenceLimit !== undefined) next.licenceLimit = c.licenceLimit;
  if (c.perEmployeeLimit !== undefined) next.perEmployeeLimit = c.perEmployeeLimit;
  if (c.maxSessionMs !== undefined) next.maxSessionMs = c.maxSessionMs;
  for (const [id, m] of Object.entries(c.members ?? {})) {
    const mo: MemberOverride = { ...next.members?.[id] };
    if (m.maxSessions !== undefined) mo.maxSessions = m.maxSessions;
    if (m.state !== undefined) Object.assign(mo, { state: m.state, stateBy: scheduleAuthor(w.id), stateReason: w.reason, stateSince: now });
    (next.members ??= {})[id] = mo;
  }
  for (const [id, a] of Object.entries(c.agencies ?? {})) {
    (next.agencies ??= {})[id] = { ...next.agencies?.[id], ...a };
  }
  return next;
}

/** The overrides without the window's changes that still hold its values (a window's end). */
export function overridesAtEnd(o: PoolOverrides, w: ScheduledWindow): PoolOverrides {
  const next = structuredClone(o);
  const c = w.changes;
  if (c.licenceLimit !== undefined && next.licenceLimit === c.licenceLimit) delete next.licenceLimit;
  if (c.perEmployeeLimit !== undefined && next.perEmployeeLimit === c.perEmployeeLimit) delete next.perEmployeeLimit;
  if (c.maxSessionMs !== undefined && next.maxSessionMs === c.maxSessionMs) delete next.maxSessionMs;
  for (const [id, m] of Object.entries(c.members ?? {})) {
    const mo = next.members?.[id];
    if (!mo) continue;
    if (m.maxSessions !== undefined && mo.maxSessions === m.maxSessions) delete mo.maxSessions;
    if (m.state !== undefined && mo.stateBy === scheduleAuthor(w.id)) {
      delete mo.state;
      delete mo.stateBy;
      delete mo.stateReason;
      delete mo.stateSince;
    }
    if (Object.keys(mo).length === 0) delete next.members![id];
  }
  for (const [id, a] of Object.entries(c.agencies ?? {})) {
    const ao = next.agencies?.[id];
    if (!ao) continue;
    if (a.guaranteed !== undefined && ao.guaranteed === a.guaranteed) delete ao.guaranteed;
    if (a.maximum !== undefined && ao.maximum === a.maximum) delete ao.maximum;
    if (Object.keys(ao).length === 0) delete next.agencies![id];
  }
  if (next.members && Object.keys(next.members).length === 0) delete next.members;
  if (next.agencies && Object.keys(next.agencies).length === 0) delete next.agencies;
  return next;
}
