
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
