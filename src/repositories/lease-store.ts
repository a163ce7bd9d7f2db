import type {
  BulkRenewCommand,
  BulkRenewResult,
  ExpiredLease,
  Grant,
  GrantCommand,
  GrantResult,
  MemberLease,
  PoolSnapshot,
  WaitingChange,
  WaitTicket,
} from '../domain/grant';
import type { PoolSpec } from '../domain/pool-spec';
import type { StoreFailure } from '../domain/store-answers';
import type { AuditEntry, AuditRecord } from '../domain/audit';
import type { PoolLayers, PoolOverrides } from '../domain/pool-overrides';

/**
 * Failures of a lease operation that are about the request, not the store (the table in
 * src/domain/store-answers.ts). The service maps them to domain errors.
 */
export type LeaseFailure = StoreFailure;

export type LeaseResult<T> = { ok: true; value: T } | { ok: false; failure: LeaseFailure };

/**
 * What the two stores implement: `RedisLeaseStore` (any number of broker replicas on one Redis;
 * each operation one Lua script, one round trip, time from Redis) and `MemoryLeaseStore` (the
 * embedded default, one replica). It is one port per concern below; one class implements them
 * all, and each service names only the ports it uses. The admission rules are written down in
 * docs/admission.md, what holds under failure in docs/guarantees.md; one contract suite
 * (test/repositories/lease-store.contract.ts) runs against both.
 *
 * Every method is one atomic step. `owner` arguments, where given, restrict the operation to
 * that owner's grants: a grant of someone else behaves as if it did not exist ('grant-not-found').
 */
export interface LeaseStore extends LeasePort, PoolLayerPort, WaitingRoomPort, BreakerPort, AuditPort, JobClaimPort, StorePort {}

/** Grants: admission, renewal, release, reads, agents' bulk renewals, reclaiming, capacity. */
export interface LeasePort {
  /** Admission: reap expired leases, then replay / reconnect / refuse / create. */
  grant(cmd: GrantCommand): Promise<LeaseResult<GrantResult>>;

  /** Extends a live lease by its TTL from now. An expired one is reclaimed and reported as 'lease-expired'. */
  heartbeat(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>>;

  /** Ends a lease and returns its capacity. */
  release(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>>;

  /** Reads a lease without changing anything; an expired, not yet reclaimed lease is 'lease-expired'. */
  get(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>>;

  /** Live grants of one owner in one pool (read only). */
  listByOwner(pool: string, owner: string): Promise<Grant[]>;

  /**
   * Live leases of one member (not expired by store time), soonest expiry first, ties by id; read
   * only (no audit record, no fencing token). What the member's gateway agent should be carrying:
   * the ids it reconciles with its tunnels and reports in bulkRenew. 'unknown-pool', 'unknown-member'.
   */
  listByMember(pool: string, member: string): Promise<LeaseResult<MemberLease[]>>;

  /** A gateway agent's report: renew what it carries, release what ended, expire the rest (past the grace period). */
  bulkRenew(cmd: BulkRenewCommand): Promise<LeaseResult<BulkRenewResult>>;

  /** Reclaims up to `limit` expired leases of a pool. */
  reap(pool: string, limit: number): Promise<ExpiredLease[]>;

  /**
   * Milliseconds of store time until the soonest lease of a pool expires (0: one is due now), or
   * null when the pool holds none or is unknown (read only): when the next sweep has work.
   */
  nextExpiryIn(pool: string): Promise<number | null>;

  /** Capacity, counts per member and agency (read only). */
  snapshot(pool: string): Promise<LeaseResult<PoolSnapshot>>;

  /** Live leases whose end by the maximum session duration (createdAt + maxSessionMs) lies in (fromMs, toMs], in createdAt order; [] without a maximum. */
  sessionsEnding(pool: string, fromMs: number, toMs: number): Promise<Grant[]>;
}

/** Pool definitions: the config file's layer, runtime overrides, the effective definition (docs/admission.md, "Runtime overrides"). */
export interface PoolLayerPort {
  /** Writes pool definitions (capacities, shares, limits). Counts and leases are kept. Pools not listed are left alone. */
  syncPools(specs: PoolSpec[]): Promise<void>;

  /** The stored definition of a pool, or null. */
  getPoolSpec(pool: string): Promise<PoolSpec | null>;

  /** A pool's definition from the config file, its runtime overrides, the effective definition and the revision; null for an unknown pool. */
  getPoolLayers(pool: string): Promise<PoolLayers | null>;

  /**
   * Replaces a pool's runtime overrides if its layers are still at `expectedRevision`
   * (compare and set). The effective definition (the config file's with these
   * overrides applied) is written in the same step, and so is the audit record, if given.
   */
  setPoolOverrides(pool: string, overrides: PoolOverrides, expectedRevision: number, audit?: OperatorAudit): Promise<LeaseResult<OverridesWrite>>;
}

/** The waiting room (docs/admission.md, "Waiting room"); a request joins through LeasePort.grant() with `wait`. */
export interface WaitingRoomPort {
  /**
   * A waiter checks in: reclaims what has expired, makes the offers due, keeps a
   * waiting ticket's place for another check-in period and answers the ticket.
   */
  checkIn(pool: string, ticketId: string, owner: string): Promise<LeaseResult<{ ticket: WaitTicket; expired: ExpiredLease[] }>>;

  /** Claims an offer: the grant with the ticket's id, on the member whose slot the offer held. */
  claim(pool: string, ticketId: string, owner: string): Promise<LeaseResult<Grant>>;

  /** Leaves the line, or declines an offer (its slot goes to the next waiter). */
  leave(pool: string, ticketId: string, owner: string): Promise<LeaseResult<null>>;

  /** Reads a ticket without changing anything. */
  getTicket(pool: string, ticketId: string, owner?: string): Promise<LeaseResult<WaitTicket>>;

  /** The owner's ticket in a pool (read only), or null. */
  ticketOf(pool: string, owner: string): Promise<WaitTicket | null>;

  /** Called with what every operation of this store changed in a waiting room (offers made, waiters dropped). */
  onWaitingChange(listener: (changes: WaitingChange[]) => void): () => void;
}

/** Failure reports of the circuit breaker (docs/operations.md). */
export interface BreakerPort {
  /**
   * Counts a failure report for a member (circuit breaker). Each reporter counts once
   * per window (its latest report); returns how many reporters reported within the
   * last `windowMs`, this one included.
   */
  recordMemberFailure(pool: string, member: string, reporter: string, windowMs: number): Promise<LeaseResult<number>>;

  /** Forgets a member's failure reports (its breaker was reset). */
  clearMemberFailures(pool: string, member: string): Promise<void>;
}

/** The audit trail: reading and trimming (records are written by the operations themselves). */
export interface AuditPort {
  /** Appends a record that no lease operation writes (operator reads of the trail, skipped scheduled steps). Ignored for an unknown pool. */
  appendAudit(pool: string, entry: OperatorAudit): Promise<void>;

  /**
   * Up to `limit` records of a pool with `fromMs <= t <= toMs` (and of `agency`, if given),
   * oldest first, continuing after the record id `after`. `next` is the id to continue
   * after, or null once the range is read to its end.
   */
  readAudit(pool: string, query: AuditQuery): Promise<AuditPage>;

  /** Drops the records of a pool older than `olderThanMs` (store time); returns how many. */
  trimAudit(pool: string, olderThanMs: number): Promise<number>;
}

/** One-off jobs (scheduled occurrences) run by exactly one replica. */
export interface JobClaimPort {
  /**
   * Claims a one-off job across all replicas: true for exactly one caller while the claim
   * lasts (`ttlMs`). `completeJob` keeps it claimed for `keepMs` more, so an occurrence that
   * was done is never run again; a claim whose holder died lapses.
   */
  claimJob(name: string, ttlMs: number): Promise<boolean>;
  completeJob(name: string, keepMs: number): Promise<void>;
}

/**
 * A write the store applied but could not confirm as durable: too few replicas acknowledged it in time
 * (docs/guarantees.md). Never a confirmation; the caller answers 503 and the client's retry with the
 * same key finds out whether it stands.
 */
export class UnconfirmedWriteError extends Error {}

/** The replicas that must confirm each write (Sentinel's list for the master) and how many of them are down. */
export interface ReplicaSet {
  known: number;
  down: number;
}

/** The store itself: which it is, its clock, whether it answers. */
export interface StorePort {
  readonly kind: 'redis' | 'memory';

  /** Store time, epoch ms. */
  now(): Promise<number>;

  /** Throws when the store cannot be reached (or is not ready to serve, e.g. pool definitions not yet written). */
  ping(): Promise<void>;

  /**
   * The replicas every write must reach before it is confirmed, as the store last learnt them, and how
   * many of them are down; absent or null where no such set is known (the embedded store, a fixed
   * REDIS_ACK_REPLICAS, a Cluster).
   */
  replicas?(): ReplicaSet | null;

  close(): Promise<void>;
}

/** An operator record (ev 'operator'): who (`by`, a pseudonym or 'circuit-breaker' / 'schedule:<id>'), what (`act`), where (`m`, `ag`) and `d` (JSON). */
export type OperatorAudit = Omit<AuditEntry, 't'>;

export type OverridesWrite = { applied: true; revision: number; effective: PoolSpec } | { applied: false; revision: number };

export interface AuditQuery {
  fromMs: number;
  toMs: number;
  agency?: string;
  limit: number;
  /** A record id from a previous page's `next`. */
  after?: string;
}

export interface AuditPage {
  records: AuditRecord[];
  next: string | null;
}

/** Options both stores take. */
export interface LeaseStoreOptions {
  /** Expired leases reclaimed per admission. */
  reapBatch: number;
  /** Unreported leases younger than this survive a bulk renewal. */
  bulkRenewalGraceMs: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number;
  /**
   * Ids of a bulk renewal handled in one step (each store has its own default); a larger report
   * comes in parts, and other operations run between them. Tests make it small.
   */
  bulkRenewalPart?: number;
  /**
   * Tests only: a clock to use instead of the store's own time. The Redis
   * store then passes the time into every script; in production it is unset
   * and scripts read Redis TIME.
   */
  clock?: () => number;
}

/** DI token of the LeaseStore (two implementations, so an interface and a token). */
export const LEASE_STORE = Symbol('LeaseStore');
