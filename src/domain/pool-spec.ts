import type { BrokerConfig } from '../config/broker-config.schema';

export type PoolKind = 'vpn' | 'vdi';
export type MemberState = 'active' | 'drain' | 'out-of-service';
export type Strategy = 'breadth-first' | 'depth-first';

export interface MemberSpec {
  id: string;
  host?: string;
  maxSessions: number;
  state: MemberState;
  /** Why the member is in this state, when it was set at runtime (operator, circuit breaker, schedule). */
  stateReason?: string;
  /** Who set the state at runtime: 'operator', 'circuit-breaker' or 'schedule:<id>'. */
  stateBy?: string;
  /** Store time the state was set at runtime, epoch ms. */
  stateSince?: number;
}

/** Slots of a pool that only one priority class, or a class of a higher rank, may use. */
export interface HeadroomSpec {
  class: string;
  rank: number;
  slots: number;
}

/** The waiting room of a pool (docs/admission.md, "Waiting room"). */
export interface WaitingRoomSpec {
  /** How long an offer holds its slot for the waiter to claim it. */
  claimWindowMs: number;
  /** A waiter who does not check in for this long drops out. */
  checkInMs: number;
  /** Waiting tickets at most (requests beyond are refused 'waiting-room-full'). */
  maxWaiters: number;
  /** This pool's share of the broker-wide cap on admissions per second; null: no cap. */
  admissionsPerSecond: number | null;
}

export interface AgencyShare {
  id: string;
  guaranteed: number;
  maximum: number;
}

/**
 * The effective definition of one pool, as both stores keep it. Stores read
 * capacities from here at every admission, so a change written with
 * `syncPools` applies to every replica at once.
 */
export interface PoolSpec {
  id: string;
  kind: PoolKind;
  name?: string;
  strategy: Strategy;
  licenceLimit: number | null;
  perEmployeeLimit: number;
  leaseTtlMs: number;
  retryAfterSeconds: number;
  /** A lease is never renewed past createdAt + this (docs/admission.md, "Maximum session duration"); absent: no limit. */
  maxSessionMs?: number;
  /** Reserved headroom per priority class (docs/admission.md, "Priority classes"); absent: none. */
  headroom?: HeadroomSpec[];
  /** Absent: requests are refused, never queued, and admissions are not paced. */
  waitingRoom?: WaitingRoomSpec;
  /** In config order; depth-first fills them in this order. */
  members: MemberSpec[];
  /** Agencies entitled to this pool. An agency absent here is not entitled. */
  agencies: AgencyShare[];
}

/** Builds the per-pool specs from the validated configuration. */
export function poolSpecsFromConfig(cfg: BrokerConfig): PoolSpec[] {
  return cfg.pools.map((p) => ({
    id: p.id,
    kind: p.kind,
    ...(p.name !== undefined ? { name: p.name } : {}),
    strategy: p.strategy,
    licenceLimit: p.licenceLimit ?? null,
    perEmployeeLimit: p.perEmployeeLimit ?? cfg.defaults.perEmployeeLimit,
    leaseTtlMs: (p.leaseTtlSeconds ?? cfg.leases.defaultTtlSeconds) * 1000,
    retryAfterSeconds: p.retryAfterSeconds ?? cfg.defaults.retryAfterSeconds,
    ...(p.maxSessionMinutes !== undefined ? { maxSessionMs: p.maxSessionMinutes * 60_000 } : {}),
    ...(p.headroom && Object.keys(p.headroom).length > 0
      ? { headroom: Object.entries(p.headroom).map(([cls, slots]) => ({ class: cls, rank: rankOf(cfg, cls), slots })) }
      : {}),
    waitingRoom: {
      claimWindowMs: cfg.waitingRoom.claimWindowSeconds * 1000,
      checkInMs: cfg.waitingRoom.checkInSeconds * 1000,
      maxWaiters: cfg.waitingRoom.maxWaiters,
      admissionsPerSecond: p.admissionsPerSecond ?? shareOfRate(cfg, p),
    },
    members: p.members.map((m) => ({ id: m.id, ...(m.host !== undefined ? { host: m.host } : {}), maxSessions: m.maxSessions, state: m.state })),
    agencies: cfg.agencies
      .filter((a) => a.pools[p.id] !== undefined)
      .map((a) => ({ id: a.id, guaranteed: a.pools[p.id]!.guaranteed, maximum: a.pools[p.id]!.maximum })),
  }));
}

/** A priority class's rank (the default class, and any class not listed, rank 0). */
export function rankOf(cfg: BrokerConfig, cls: string): number {
  return cfg.priorities.classes.find((c) => c.id === cls)?.rank ?? 0;
}

/** The pool's share of the broker-wide admission rate, in proportion to configured capacity (at least 1); null without a cap. */
function shareOfRate(cfg: BrokerConfig, pool: BrokerConfig['pools'][number]): number | null {
  const total = cfg.waitingRoom.admissionsPerSecond;
  if (total === undefined) return null;
  const capacity = (p: BrokerConfig['pools'][number]) => {
    const sum = p.members.reduce((s, m) => s + m.maxSessions, 0);
    return p.licenceLimit === undefined ? sum : Math.min(sum, p.licenceLimit);
  };
  const all = cfg.pools.reduce((s, p) => s + capacity(p), 0);
  return Math.max(1, Math.floor((total * capacity(pool)) / all));
}
