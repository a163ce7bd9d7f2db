import { BULK_RENEWAL_MAX_IDS } from './grant';
import type { AgencyShare, MemberSpec, MemberState, PoolSpec } from './pool-spec';

/**
 * Runtime changes of a pool, layered over the definition from the config
 * file: what operators, the circuit breaker and scheduled plans changed.
 * Stored per pool next to the file's definition (docs/operations.md,
 * "Runtime changes"); the store keeps `effective = applyOverrides(base, overrides)`
 * where every admission reads it, so a change applies on every replica at once
 * and survives restarts and re-syncs of the config file.
 */
export interface MemberOverride {
  maxSessions?: number;
  state?: MemberState;
  stateReason?: string;
  /** 'operator', 'circuit-breaker' or 'schedule:<id>'. */
  stateBy?: string;
  /** Store time, epoch ms. */
  stateSince?: number;
}

export interface AgencyOverride {
  guaranteed?: number;
  maximum?: number;
}

/** The circuit breaker's bookkeeping of one member (absent: closed). */
export interface BreakerState {
  phase: 'open' | 'half-open';
  /** Store time the phase began. */
  since: number;
  /** Store time the phase ends (open → half-open, half-open → closed); null: only an operator returns it. */
  until: number | null;
  /** Trips since the breaker was last closed. */
  trips: number;
}

export interface PoolOverrides {
  licenceLimit?: number | null;
  perEmployeeLimit?: number;
  /** null: no maximum session duration, whatever the file says. */
  maxSessionMs?: number | null;
  members?: Record<string, MemberOverride>;
  agencies?: Record<string, AgencyOverride>;
  breakers?: Record<string, BreakerState>;
}

/** What a store keeps of a pool's definition. */
export interface PoolLayers {
  /** As written from the config file by the last syncPools. */
  base: PoolSpec;
  overrides: PoolOverrides;
  /** What admissions read: base with the overrides applied. */
  effective: PoolSpec;
  /** Changes with every write of the layers (compare and set). */
  revision: number;
}

/**
 * The effective definition: `base` with every override of a member or agency
 * that `base` still has. Overrides of members or agencies no longer in the
 * file are kept but have no effect.
 */
export function applyOverrides(base: PoolSpec, o: PoolOverrides): PoolSpec {
  const spec: PoolSpec = { ...base };
  if (o.licenceLimit !== undefined) spec.licenceLimit = o.licenceLimit;
  if (o.perEmployeeLimit !== undefined) spec.perEmployeeLimit = o.perEmployeeLimit;
  if (o.maxSessionMs === null) delete spec.maxSessionMs;
  else if (o.maxSessionMs !== undefined) spec.maxSessionMs = o.maxSessionMs;
  spec.members = base.members.map((m): MemberSpec => {
    const mo = o.members?.[m.id];
    return mo ? { ...m, ...definedOnly(mo) } : { ...m };
  });
  spec.agencies = base.agencies.map((a): AgencyShare => {
    const ao = o.agencies?.[a.id];
    return ao ? { ...a, ...definedOnly(ao) } : { ...a };
  });
  return spec;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Capacity with every member in service, capped by the licence limit: what guarantees are checked against. */
export function configuredCapacityOf(spec: Pick<PoolSpec, 'members' | 'licenceLimit'>): number {
  const sum = spec.members.reduce((s, m) => s + m.maxSessions, 0);
  return spec.licenceLimit === null ? sum : Math.min(sum, spec.licenceLimit);
}

/** Why a member may not hold more sessions than one bulk renewal carries (BULK_RENEWAL_MAX_IDS). */
export const MEMBER_TOO_LARGE = `must be at most ${BULK_RENEWAL_MAX_IDS.toLocaleString('en')}: its gateway agent reports all of a member's sessions in one bulk renewal of at most that many ids; split a larger gateway into several members`;

/**
 * The rules of the config file (src/config/broker-config.schema.ts) for one
 * effective definition: every problem, as `{ path, message }`; empty when the
 * definition is sound.
 */
export function poolSpecProblems(spec: PoolSpec): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const int = (v: unknown, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (spec.licenceLimit !== null && !int(spec.licenceLimit, 1)) problems.push({ path: '/licenceLimit', message: 'must be a whole number of at least 1, or null' });
  if (!int(spec.perEmployeeLimit, 1)) problems.push({ path: '/perEmployeeLimit', message: 'must be a whole number of at least 1' });
  if (spec.maxSessionMs !== undefined && !int(spec.maxSessionMs, 60_000)) problems.push({ path: '/maxSessionMinutes', message: 'must be at least 1 minute' });
  for (const m of spec.members) {
    if (!int(m.maxSessions, 1)) problems.push({ path: `/members/${m.id}/maxSessions`, message: 'must be a whole number of at least 1' });
    else if (m.maxSessions > BULK_RENEWAL_MAX_IDS) problems.push({ path: `/members/${m.id}/maxSessions`, message: MEMBER_TOO_LARGE });
  }
  for (const a of spec.agencies) {
    if (!int(a.guaranteed, 0)) problems.push({ path: `/agencies/${a.id}/guaranteed`, message: 'must be a whole number of 0 or more' });
    if (!int(a.maximum, 1)) problems.push({ path: `/agencies/${a.id}/maximum`, message: 'must be a whole number of at least 1' });
    if (a.guaranteed > a.maximum) problems.push({ path: `/agencies/${a.id}/guaranteed`, message: `guaranteed (${a.guaranteed}) must not exceed maximum (${a.maximum})` });
  }
  const guaranteed = spec.agencies.reduce((s, a) => s + a.guaranteed, 0);
  const capacity = configuredCapacityOf(spec);
  if (guaranteed > capacity) {
    problems.push({ path: '/agencies', message: `guaranteed shares of all agencies add up to ${guaranteed}, more than the pool's capacity of ${capacity}` });
  }
  return problems;
}
