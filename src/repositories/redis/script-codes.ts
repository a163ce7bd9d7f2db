import type { Grant, ExpiredLease, RefusalCode } from '../../domain/grant';
import type { LeaseFailure } from '../lease-store';

/** Reply codes of the Lua scripts (lua/includes/codes.lua; a test checks both agree). */
export const ScriptCode = {
  OK: 0,
  CREATED: 1,
  RECONNECTED: 2,
  REPLAYED: 3,
  UNKNOWN_POOL: -1,
  UNKNOWN_MEMBER: -2,
  GRANT_NOT_FOUND: -3,
  LEASE_EXPIRED: -4,
  NOT_ENTITLED: -10,
  EMPLOYEE_AT_LIMIT: -11,
  AGENCY_AT_MAXIMUM: -12,
  POOL_UNAVAILABLE: -13,
  POOL_FULL: -14,
  CAPACITY_RESERVED: -15,
  STALE_REVISION: -20,
} as const;

export type ScriptOutcome =
  | { kind: 'ok' }
  | { kind: 'granted'; outcome: 'created' | 'reconnected' | 'replayed' }
  | { kind: 'failure'; failure: LeaseFailure }
  | { kind: 'refusal'; code: RefusalCode }
  /** A compare-and-set write found the pool's definition changed since it was read. */
  | { kind: 'stale' };

const outcomes = new Map<number, ScriptOutcome>([
  [ScriptCode.OK, { kind: 'ok' }],
  [ScriptCode.CREATED, { kind: 'granted', outcome: 'created' }],
  [ScriptCode.RECONNECTED, { kind: 'granted', outcome: 'reconnected' }],
  [ScriptCode.REPLAYED, { kind: 'granted', outcome: 'replayed' }],
  [ScriptCode.UNKNOWN_POOL, { kind: 'failure', failure: 'unknown-pool' }],
  [ScriptCode.UNKNOWN_MEMBER, { kind: 'failure', failure: 'unknown-member' }],
  [ScriptCode.GRANT_NOT_FOUND, { kind: 'failure', failure: 'grant-not-found' }],
  [ScriptCode.LEASE_EXPIRED, { kind: 'failure', failure: 'lease-expired' }],
  [ScriptCode.NOT_ENTITLED, { kind: 'refusal', code: 'not-entitled' }],
  [ScriptCode.EMPLOYEE_AT_LIMIT, { kind: 'refusal', code: 'employee-at-limit' }],
  [ScriptCode.AGENCY_AT_MAXIMUM, { kind: 'refusal', code: 'agency-at-maximum' }],
  [ScriptCode.POOL_UNAVAILABLE, { kind: 'refusal', code: 'pool-unavailable' }],
  [ScriptCode.POOL_FULL, { kind: 'refusal', code: 'pool-full' }],
  [ScriptCode.CAPACITY_RESERVED, { kind: 'refusal', code: 'capacity-reserved' }],
  [ScriptCode.STALE_REVISION, { kind: 'stale' }],
]);

/** The one mapping from a script's reply code to what the store answers. */
export function outcomeOf(code: number): ScriptOutcome {
  const outcome = outcomes.get(code);
  if (!outcome) throw new Error(`Lua script answered with unknown code ${code}`);
  return outcome;
}

/** `{ id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }` (record.lua `grant_reply`). */
export type RawGrant = [string, string, string, string, string, number, number, number, number];
/** `{ id, member, agency, owner }` (reap.lua). */
export type RawExpired = [string, string, string, string];

export function grantOf(pool: string, raw: RawGrant): Grant {
  const [id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs] = raw;
  return { id, pool, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs };
}

export function expiredOf(pool: string, raw: RawExpired[]): ExpiredLease[] {
  return raw.map(([id, member, agency, owner]) => ({ id, pool, member, agency, owner }));
}
