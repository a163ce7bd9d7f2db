/**
 * Property tests: random sequences of commands run against a store and the
 * reference model (test/model/admission.model.ts). After every step the store
 * must answer exactly as the model does (outcome, code, member chosen, grant,
 * reclaimed leases, counts, tickets, waiting-room changes pushed, audit records)
 * and the invariants of docs/admission.md must hold — for the waiting room:
 * sessions plus held offers never above capacity, no slot left idle while an
 * admissible waiter waits (each freed slot is offered), and nobody offered a
 * slot while someone admissible is ahead in line (rank, then first come).
 *
 * Runs against the memory store and the Redis store on 127.0.0.1:6379 (a fresh
 * key prefix per run; Redis unreachable is a failure, not a skip).
 *
 * Reproduce a failure with the seed it prints: PROPERTY_SEED=<seed> npx jest test/repositories/lease-store.property.test.ts
 * More runs: PROPERTY_RUNS=2000 (default 200 for both stores; 80 on Redis missed a divergence the 154th run shows).
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import Redis from 'ioredis';
import type { AuditRecord } from '../../src/domain/audit';
import type { Grant, PoolSnapshot, Priority, WaitingChange, WaitTicket } from '../../src/domain/grant';
import type { PoolOverrides } from '../../src/domain/pool-overrides';
import type { MemberSpec, PoolSpec } from '../../src/domain/pool-spec';
import type { LeaseResult, LeaseStore, LeaseStoreOptions } from '../../src/repositories/lease-store';
import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { RedisLeaseStore } from '../../src/repositories/redis/redis-lease.store';
import { AdmissionModel, type ModelOptions } from '../model/admission.model';
import { OperationsModel } from '../model/operations.model';

const SEED = process.env.PROPERTY_SEED !== undefined ? Number(process.env.PROPERTY_SEED) : 20_251_121;
const RUNS = process.env.PROPERTY_RUNS !== undefined ? Number(process.env.PROPERTY_RUNS) : undefined;
const T0 = 1_700_000_000_000;
const REDIS_URL = 'redis://127.0.0.1:6379';

// ---- the command language ------------------------------------------------------------------

const POOLS = ['p', 'q'] as const;
const MEMBERS = ['m1', 'm2', 'm3', 'm4'];
/** Owner → agency: two owners in a, two in b, one in c, one in an agency that is never entitled. */
const OWNERS: Record<string, string> = { o0: 'a', o1: 'a', o2: 'b', o3: 'b', o4: 'c', o5: 'x' };

type PoolId = 'p' | 'q' | 'nope';
type As = 'owner' | 'other' | 'any';
type Cmd =
  /** `wait`: in line rather than refused; `pc`: index into CLASSES (unset: the default class). */
  | { t: 'grant'; pool: PoolId; owner: string; clientId: string; key?: string; wait?: boolean; pc?: number }
  /**
   * Waiting-room operations on a ticket handed out earlier (`tref` as `ref`, among the tickets, or with
   * `offered` among those offered a slot, latest first); `pool` unset: the ticket's.
   */
  | { t: 'checkIn' | 'claim' | 'leave' | 'ticket'; pool?: PoolId; tref: number; as: As; offered?: boolean }
  | { t: 'ticketOf'; pool: PoolId; owner: string }
  /** `pool` unset: the pool of the grant referred to. */
  | { t: 'heartbeat' | 'release' | 'get'; pool?: PoolId; ref: number; as: As }
  | { t: 'list'; pool: PoolId; owner: string }
  /** `member` unset: the member of the first grant reported. */
  | { t: 'bulk'; pool: PoolId; member?: string; active: number[]; ended: number[] }
  | { t: 'reap'; pool: PoolId; limit: number }
  | { t: 'sync'; spec: PoolSpec }
  /** Runtime overrides, written at the current revision (or, `stale`, at the one before: refused). */
  | { t: 'override'; pool: 'p' | 'q'; overrides: PoolOverrides; stale: boolean }
  | { t: 'advance'; ms: number };

interface Scenario {
  options: ModelOptions;
  specs: PoolSpec[];
  cmds: Cmd[];
}

/** Priority classes a request may carry (docs/admission.md, "Priority classes"). */
const CLASSES: Priority[] = [
  { class: 'standard', rank: 0 },
  { class: 'urgent', rank: 50 },
  { class: 'crisis', rank: 100 },
];

const poolId: fc.Arbitrary<PoolId> = fc.oneof(
  { weight: 16, arbitrary: fc.constant('p' as const) },
  { weight: 5, arbitrary: fc.constant('q' as const) },
  { weight: 1, arbitrary: fc.constant('nope' as const) },
);
const owner = fc.oneof({ weight: 12, arbitrary: fc.constantFrom('o0', 'o1', 'o2', 'o3', 'o4') }, { weight: 1, arbitrary: fc.constant('o5') });
/** Mostly the pool of the grant referred to (undefined), now and then any pool. */
const ownPool = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: poolId });
/** A grant handed out earlier: 0 is the latest, 1 the one before, … (the first one if there are fewer); -1 an id no store knows. */
const ref = fc.oneof(
  { weight: 8, arbitrary: fc.nat({ max: 2 }) },
  { weight: 2, arbitrary: fc.nat({ max: 12 }) },
  { weight: 1, arbitrary: fc.constant(-1) },
);

const memberSpec = (id: string): fc.Arbitrary<MemberSpec> =>
  fc.record({
    id: fc.constant(id),
    maxSessions: fc.integer({ min: 1, max: 4 }),
    state: fc.constantFrom<MemberSpec['state']>('active', 'active', 'active', 'active', 'drain', 'out-of-service'),
  });

/** A random definition of a pool: capacities, states, config order, strategy, licence, shares; now and then a member or an agency less. */
const poolSpec = (id: 'p' | 'q'): fc.Arbitrary<PoolSpec> =>
  fc
    .record({
      memberIds: fc.oneof(
        { weight: 4, arbitrary: fc.shuffledSubarray(MEMBERS.slice(0, 3), { minLength: 3 }) },
        { weight: 1, arbitrary: fc.shuffledSubarray(MEMBERS, { minLength: 1 }) },
      ),
      strategy: fc.constantFrom<PoolSpec['strategy']>('breadth-first', 'depth-first'),
      licenceLimit: fc.oneof({ weight: 2, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }) }),
      perEmployeeLimit: fc.integer({ min: 1, max: 3 }),
      leaseTtlMs: fc.constantFrom(5_000, 10_000, 20_000),
      maxSessionMs: fc.constantFrom<number | undefined>(undefined, undefined, 8_000, 15_000, 30_000),
      // Mostly a waiting room (short windows, so time steps cross them), now and then a rate cap or none at all.
      waitingRoom: fc.oneof(
        { weight: 1, arbitrary: fc.constant(undefined) },
        {
          weight: 4,
          arbitrary: fc.record({
            claimWindowMs: fc.constantFrom(1_000, 4_000, 10_000),
            checkInMs: fc.constantFrom(2_000, 6_000, 20_000),
            maxWaiters: fc.constantFrom(1, 3, 10),
            admissionsPerSecond: fc.constantFrom<number | null>(null, null, null, 1, 2),
          }),
        },
      ),
      headroom: fc.constantFrom(
        [],
        [],
        [{ class: 'crisis', rank: 100, slots: 1 }],
        [
          { class: 'urgent', rank: 50, slots: 1 },
          { class: 'crisis', rank: 100, slots: 2 },
        ],
      ),
      shares: fc.tuple(
        ...['a', 'b', 'c'].map((agency) =>
          fc.record({ present: fc.constantFrom(true, true, true, false), guaranteed: fc.constantFrom(0, 0, 1, 2), extra: fc.integer({ min: 0, max: 5 }) }).map((s) => ({ agency, ...s })),
        ),
      ),
    })
    .chain((r) =>
      fc.tuple(...r.memberIds.map(memberSpec)).map((members) => ({
        id,
        kind: 'vpn' as const,
        strategy: r.strategy,
        licenceLimit: r.licenceLimit,
        perEmployeeLimit: r.perEmployeeLimit,
        leaseTtlMs: r.leaseTtlMs,
        retryAfterSeconds: 7,
        ...(r.maxSessionMs !== undefined ? { maxSessionMs: r.maxSessionMs } : {}),
        ...(r.headroom.length > 0 ? { headroom: r.headroom } : {}),
        ...(r.waitingRoom !== undefined ? { waitingRoom: r.waitingRoom } : {}),
        members,
        // a and b are always entitled; c only now and then.
        agencies: r.shares
          .filter((s) => s.agency !== 'c' || s.present)
          .map((s) => ({ id: s.agency, guaranteed: s.guaranteed, maximum: Math.max(1, s.guaranteed + s.extra) })),
      })),
    );

/** Runtime overrides of capacities, states, shares and limits, members and agencies the pool may not have included. */
const overrides: fc.Arbitrary<PoolOverrides> = fc.record(
  {
    licenceLimit: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 8 })),
    perEmployeeLimit: fc.integer({ min: 1, max: 3 }),
    maxSessionMs: fc.constantFrom(null, 8_000, 15_000),
    members: fc.dictionary(
      fc.constantFrom(...MEMBERS),
      fc.record({ maxSessions: fc.integer({ min: 1, max: 4 }), state: fc.constantFrom<MemberSpec['state']>('active', 'drain', 'out-of-service') }, { requiredKeys: [] }),
      { maxKeys: 3 },
    ),
    agencies: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.record({ guaranteed: fc.constantFrom(0, 1, 2), maximum: fc.integer({ min: 1, max: 6 }) }, { requiredKeys: [] }), { maxKeys: 2 }),
  },
  { requiredKeys: [] },
);

const checkIn = fc.record({ t: fc.constant('checkIn' as const), pool: ownPool, tref: ref, as: fc.constantFrom<As>('owner', 'owner', 'owner', 'other') });
const claim = fc.record({ t: fc.constant('claim' as const), pool: ownPool, tref: ref, as: fc.constantFrom<As>('owner', 'owner', 'owner', 'other') });
const leave = fc.record({ t: fc.constant('leave' as const), pool: ownPool, tref: ref, as: fc.constantFrom<As>('owner', 'owner', 'other') });
const readTicket = fc.record({ t: fc.constant('ticket' as const), pool: ownPool, tref: ref, as: fc.constantFrom<As>('owner', 'other', 'any') });

/** A mix that keeps a line going: most requests wait (in all classes), slots free often, time moves in small steps, offers are claimed. */
const waitingCommand: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 24,
    arbitrary: fc.record(
      { t: fc.constant('grant' as const), pool: fc.constantFrom<PoolId>('p', 'p', 'q'), owner, clientId: fc.constantFrom('c0', 'c1'), wait: fc.constantFrom(true, true, true, false), pc: fc.constantFrom(0, 0, 1, 2) },
      { requiredKeys: ['t', 'pool', 'owner', 'clientId', 'wait'] },
    ),
  },
  { weight: 10, arbitrary: checkIn },
  { weight: 14, arbitrary: claim.map((c) => ({ ...c, offered: true })) },
  { weight: 3, arbitrary: leave.map((c) => ({ ...c, offered: true })) },
  { weight: 3, arbitrary: leave },
  { weight: 2, arbitrary: readTicket },
  { weight: 8, arbitrary: fc.record({ t: fc.constant('release' as const), ref: fc.nat({ max: 6 }), as: fc.constant<As>('owner') }, { requiredKeys: ['t', 'ref', 'as'] }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('heartbeat' as const), ref: fc.nat({ max: 6 }), as: fc.constant<As>('owner') }, { requiredKeys: ['t', 'ref', 'as'] }) },
  {
    weight: 2,
    arbitrary: fc.record(
      { t: fc.constant('bulk' as const), pool: fc.constantFrom<PoolId>('p', 'q'), active: fc.array(fc.nat({ max: 6 }), { maxLength: 4 }), ended: fc.array(fc.nat({ max: 6 }), { maxLength: 2 }) },
      { requiredKeys: ['t', 'pool', 'active', 'ended'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('reap' as const), pool: fc.constantFrom<PoolId>('p', 'q'), limit: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 2, arbitrary: fc.oneof(poolSpec('p'), poolSpec('q')).map((spec) => ({ t: 'sync' as const, spec })) },
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 8 }).map((n) => ({ t: 'advance' as const, ms: n * 500 })) },
);

const command: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ t: fc.constant('override' as const), pool: fc.constantFrom<'p' | 'q'>('p', 'p', 'q'), overrides, stale: fc.constantFrom(false, false, false, true) }),
  },
  {
    weight: 30,
    arbitrary: fc.record(
      {
        t: fc.constant('grant' as const),
        pool: poolId,
        owner,
        clientId: fc.constantFrom('c0', 'c1', 'c2'),
        key: fc.constantFrom('k0', 'k1', 'k2'),
        wait: fc.constantFrom(true, true, false),
        pc: fc.constantFrom(0, 0, 1, 2),
      },
      { requiredKeys: ['t', 'pool', 'owner', 'clientId'] },
    ),
  },
  { weight: 8, arbitrary: checkIn },
  { weight: 7, arbitrary: claim },
  { weight: 3, arbitrary: leave },
  { weight: 2, arbitrary: readTicket },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ticketOf' as const), pool: poolId, owner }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant('heartbeat' as const), pool: ownPool, ref, as: fc.constantFrom<As>('owner', 'owner', 'other', 'any') }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant('release' as const), pool: ownPool, ref, as: fc.constantFrom<As>('owner', 'owner', 'other', 'any') }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('get' as const), pool: ownPool, ref, as: fc.constantFrom<As>('owner', 'other', 'any') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('list' as const), pool: poolId, owner }) },
  {
    weight: 5,
    arbitrary: fc.record(
      {
        t: fc.constant('bulk' as const),
        pool: poolId,
        member: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...MEMBERS) }, { weight: 1, arbitrary: fc.constant('mz') }),
        active: fc.array(ref, { maxLength: 5 }),
        ended: fc.array(ref, { maxLength: 3 }),
      },
      { requiredKeys: ['t', 'pool', 'active', 'ended'] },
    ),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('reap' as const), pool: poolId, limit: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 4, arbitrary: fc.oneof(poolSpec('p'), poolSpec('q')).map((spec) => ({ t: 'sync' as const, spec })) },
  {
    weight: 16,
    // Steps land often exactly on an expiry or a grace boundary (TTLs and graces are multiples of 500 ms).
    arbitrary: fc.oneof(fc.integer({ min: 0, max: 30 }).map((n) => n * 500), fc.constantFrom(1, 4_999, 120_000)).map((ms) => ({ t: 'advance' as const, ms })),
  },
);

const scenario: fc.Arbitrary<Scenario> = fc.record({
  options: fc.record({
    reapBatch: fc.integer({ min: 1, max: 3 }),
    bulkRenewalGraceMs: fc.constantFrom(0, 2_000, 5_000, 15_000),
    idempotencyTtlMs: fc.constantFrom(3_000, 10_000, 60_000),
  }),
  specs: fc.tuple(poolSpec('p'), poolSpec('q')),
  // Half the runs the general mix, half a waiting-room mix.
  cmds: fc.oneof(fc.array(command, { minLength: 1, maxLength: 60, size: 'max' }), fc.array(waitingCommand, { minLength: 1, maxLength: 60, size: 'max' })),
});

// ---- running a scenario against a store and the model --------------------------------------

type OpenStore = (clock: () => number, options: LeaseStoreOptions) => Promise<{ store: LeaseStore; cleanup: () => Promise<void> }>;

function same(step: string, actual: unknown, expected: unknown): void {
  try {
    expect(actual).toEqual(expected);
  } catch (err) {
    throw new Error(`${step}\nstore (received) differs from the model (expected):\n${(err as Error).message}`);
  }
}

function check(step: string, ok: boolean, what: string): void {
  if (!ok) throw new Error(`${step}\ninvariant broken: ${what}`);
}

function value<T>(r: LeaseResult<T>): T {
  if (!r.ok) throw new Error(`unexpected failure ${r.failure}`);
  return r.value;
}

async function runScenario(open: OpenStore, sc: Scenario): Promise<void> {
  let now = T0;
  const { store, cleanup } = await open(() => now, sc.options);
  const model = new AdmissionModel(sc.options);
  const operations = new OperationsModel(model);
  const pushed: WaitingChange[] = [];
  store.onWaitingChange((changes) => pushed.push(...changes));
  try {
    await store.syncPools(sc.specs);
    operations.syncPools(sc.specs, now);
    /** Every grant id a store handed out, in order, and whose it is: commands refer to them by index. */
    const ids: string[] = [];
    const ownerOf = new Map<string, string>();
    const poolOf = new Map<string, PoolId>();
    const memberOf = new Map<string, string>();
    const lastToken = new Map<string, number>();
    let next = 0;
    const idOf = (r: number): string => (r < 0 || ids.length === 0 ? 'ghost' : ids[ids.length - 1 - Math.min(r, ids.length - 1)]!);
    const ownerArg = (id: string, as: As): string | undefined => (as === 'any' ? undefined : as === 'other' ? (ownerOf.get(id) === 'o0' ? 'o1' : 'o0') : (ownerOf.get(id) ?? 'o0'));
    /** Every ticket handed out, in the order they joined (= line order within a rank). */
    const tickets: string[] = [];
    /** Tickets offered a slot, in the order offered. */
    const offered: string[] = [];
    const pick = (list: string[], r: number): string => (r < 0 || list.length === 0 ? 'ghost' : list[list.length - 1 - Math.min(r, list.length - 1)]!);
    const ticketOf = (c: { tref: number; offered?: boolean }): string => pick(c.offered ? offered : tickets, c.tref);

    for (let i = 0; i < sc.cmds.length; i++) {
      const c = sc.cmds[i]!;
      const step = `step ${i} at t0+${now - T0}: ${JSON.stringify(c)}`;
      pushed.length = 0;
      const ticketsBefore = tickets.length;
      /** The pool the step worked on (before it, refs still point where they did). */
      const touched =
        c.t === 'sync' ? c.spec.id : c.t === 'advance' ? null : 'tref' in c ? (c.pool ?? poolOf.get(ticketOf(c)) ?? 'p') : 'ref' in c ? (c.pool ?? poolOf.get(idOf(c.ref)) ?? 'p') : c.pool;
      switch (c.t) {
        case 'advance':
          now += c.ms;
          break;
        case 'sync':
          await store.syncPools([c.spec]);
          operations.syncPools([c.spec], now);
          same(step, await store.getPoolLayers(c.spec.id), operations.getPoolLayers(c.spec.id));
          break;
        case 'override': {
          const revision = (await store.getPoolLayers(c.pool))!.revision - (c.stale ? 1 : 0);
          const got = await store.setPoolOverrides(c.pool, c.overrides, revision);
          same(step, got, operations.setPoolOverrides(c.pool, c.overrides, revision, undefined, now));
          same(step, await store.getPoolLayers(c.pool), operations.getPoolLayers(c.pool));
          break;
        }
        case 'grant': {
          next += 1;
          const cmd = {
            pool: c.pool,
            owner: c.owner,
            agency: OWNERS[c.owner]!,
            clientId: c.clientId,
            newGrantId: `g${next}`,
            ...(c.key !== undefined ? { idempotencyKey: c.key } : {}),
            ...(c.wait ? { wait: true } : {}),
            ...(c.pc !== undefined ? { priority: CLASSES[c.pc]! } : {}),
          };
          const got = await store.grant(cmd);
          same(step, got, model.grant(cmd, now));
          if (got.ok && got.value.outcome === 'queued' && !tickets.includes(got.value.ticket.id)) {
            tickets.push(got.value.ticket.id);
            ownerOf.set(got.value.ticket.id, c.owner);
            poolOf.set(got.value.ticket.id, c.pool);
          }
          if (got.ok && got.value.outcome === 'created') {
            const g = got.value.grant;
            ids.push(g.id);
            ownerOf.set(g.id, g.owner);
            poolOf.set(g.id, c.pool);
            memberOf.set(g.id, g.member);
            await checkCreated(step, store, g, lastToken);
          }
          break;
        }
        case 'heartbeat':
        case 'release':
        case 'get': {
          const id = idOf(c.ref);
          const as = ownerArg(id, c.as);
          const pool = c.pool ?? poolOf.get(id) ?? 'p';
          same(step, await store[c.t](pool, id, as), model[c.t](pool, id, as, now));
          break;
        }
        case 'list':
          same(step, await store.listByOwner(c.pool, c.owner), model.listByOwner(c.pool, c.owner, now));
          break;
        case 'bulk': {
          const reported = [...c.ended, ...c.active].map(idOf);
          const cmd = { pool: c.pool, member: c.member ?? memberOf.get(reported[0] ?? '') ?? 'm1', active: c.active.map(idOf), ended: c.ended.map(idOf) };
          same(step, await store.bulkRenew(cmd), model.bulkRenew(cmd, now));
          break;
        }
        case 'reap':
          same(step, await store.reap(c.pool, c.limit), model.reap(c.pool, c.limit, now));
          break;
        case 'checkIn':
        case 'leave':
        case 'claim':
        case 'ticket': {
          const id = ticketOf(c);
          const pool = c.pool ?? poolOf.get(id) ?? 'p';
          const who = ownerArg(id, c.as);
          if (c.t === 'ticket') {
            same(step, await store.getTicket(pool, id, who), model.getTicket(pool, id, who, now));
            break;
          }
          const as = who ?? ownerOf.get(id) ?? 'o0';
          const got = await store[c.t](pool, id, as);
          same(step, got, model[c.t](pool, id, as, now));
          if (c.t === 'claim' && got.ok && !ids.includes(id)) {
            const g = got.value as Grant;
            ids.push(g.id);
            memberOf.set(g.id, g.member);
            // A claim takes over the offer's slot, made under the rules then (the member may be in drain by now).
            check(step, g.fencingToken > (lastToken.get(g.pool) ?? 0), `fencing token ${g.fencingToken} not above the last one of pool ${g.pool}`);
            lastToken.set(g.pool, g.fencingToken);
          }
          break;
        }
        case 'ticketOf':
          same(step, await store.ticketOf(c.pool, c.owner), model.ticketOf(c.pool, c.owner, now));
          break;
      }
      same(`${step}\nwaiting-room changes pushed`, pushed, model.takeChanges());
      for (const ch of pushed) if (ch.kind === 'offered') offered.push(ch.ticket.id);
      for (const p of POOLS) same(`${step}\nsnapshot of ${p} afterwards`, await store.snapshot(p), model.snapshot(p, now));
      if (touched === 'p' || touched === 'q') await checkWaitingRoom(step, store, model, touched, tickets, ticketsBefore, pushed);
      if (i % 10 === 9 || i === sc.cmds.length - 1) await checkStored(step, store, model, ids, now);
    }
  } finally {
    await cleanup();
  }
}

/** Invariants of a grant just created, read back from the store. */
async function checkCreated(step: string, store: LeaseStore, g: Grant, lastToken: Map<string, number>): Promise<void> {
  check(step, g.fencingToken > (lastToken.get(g.pool) ?? 0), `fencing token ${g.fencingToken} not above the last one of pool ${g.pool}`);
  lastToken.set(g.pool, g.fencingToken);
  const s: PoolSnapshot = value(await store.snapshot(g.pool));
  const m = s.members.find((x) => x.id === g.member);
  check(step, m !== undefined && m.state === 'active', `granted on ${g.member}, which is not in service`);
  check(step, m!.active <= m!.maxSessions, `member ${m!.id} holds ${m!.active} > maxSessions ${m!.maxSessions}`);
  const a = s.agencies.find((x) => x.id === g.agency);
  check(step, a !== undefined && a.active <= a.maximum, `agency ${g.agency} above its maximum (or not entitled)`);
  check(step, s.licenceLimit === null || s.active <= s.licenceLimit, `active ${s.active} above licence limit ${s.licenceLimit}`);
  const othersUnused = s.agencies.filter((b) => b.id !== g.agency).reduce((sum, b) => sum + Math.max(0, b.guaranteed - b.active), 0);
  check(step, s.free >= othersUnused, `grant ate into other agencies' unused guarantees (free ${s.free} < ${othersUnused})`);
  const held = await store.listByOwner(g.pool, g.owner);
  check(step, held.length <= s.perEmployeeLimit, `owner holds ${held.length} live leases > perEmployeeLimit ${s.perEmployeeLimit}`);
}

/** Counts equal the stored leases: every id the store still knows, and no other, is counted. */
async function checkStored(step: string, store: LeaseStore, model: AdmissionModel, ids: string[], now: number): Promise<void> {
  for (const p of POOLS) {
    const stored: string[] = [];
    for (const id of ids) {
      const r = await store.get(p, id);
      if (r.ok || r.failure === 'lease-expired') stored.push(id);
    }
    const modelIds = model.pools.get(p)!.leases.map((l) => l.id);
    same(`${step}\nstored leases of ${p}`, [...stored].sort(), [...modelIds].sort());
    const s = value(await store.snapshot(p));
    check(step, s.active === stored.length + s.offered, `pool ${p} counts ${s.active} sessions and offers but stores ${stored.length} leases and ${s.offered} offers`);
    for (const o of Object.keys(OWNERS)) {
      same(`${step}\nlive leases of ${o} in ${p}`, await store.listByOwner(p, o), model.listByOwner(p, o, now));
    }
    same(`${step}\naudit trail of ${p}`, await auditTrail(store, p), model.auditOf(p));
  }
}

/** A pool's whole audit trail, read page by page, as fields (ids differ between stores). */
async function auditTrail(store: LeaseStore, pool: string): Promise<Omit<AuditRecord, 'id'>[]> {
  const out: Omit<AuditRecord, 'id'>[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.readAudit(pool, { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, limit: 50, ...(after !== undefined ? { after } : {}) });
    for (const { id: _id, ...fields } of page.records) out.push(fields);
    if (page.next === null) return out;
    after = page.next;
  }
}

/**
 * The waiting room's invariants, from what the store answers after a step on `pool`:
 * - sessions plus held offers within capacity wherever an offer went in this step;
 * - no free slot idle while an admissible waiter waits (unless the rate cap holds it back):
 *   every freed slot went to a waiter;
 * - nobody offered in this step while an admissible waiter is ahead of them in line
 *   (higher rank, or the same rank and joined earlier).
 * "Admissible" is the offer step's test: entitled, agency under its maximum, not eating another
 * agency's unused guarantee nor headroom reserved above its rank, owner under the per-employee
 * limit, check-in deadline not passed.
 */
async function checkWaitingRoom(
  step: string,
  store: LeaseStore,
  model: AdmissionModel,
  pool: 'p' | 'q',
  tickets: string[],
  ticketsBefore: number,
  pushed: WaitingChange[],
): Promise<void> {
  const s = value(await store.snapshot(pool));
  const now = s.at;
  const joined = new Map(tickets.map((id, i) => [id, i]));
  const inLine: WaitTicket[] = [];
  for (const id of tickets) {
    const r = await store.getTicket(pool, id);
    if (r.ok && r.value.state === 'waiting') inLine.push(r.value);
  }
  const reservedFor = (agency: string) => s.agencies.filter((a) => a.id !== agency).reduce((sum, a) => sum + Math.max(0, a.guaranteed - a.active), 0);
  const headroomAbove = (rank: number) => s.headroom.filter((h) => h.rank > rank).reduce((sum, h) => sum + h.slots, 0);
  const admissible = async (t: WaitTicket): Promise<boolean> => {
    const share = s.agencies.find((a) => a.id === t.agency);
    if (!share || share.active >= share.maximum || t.checkInBy <= now) return false;
    const room = s.free - reservedFor(t.agency);
    if (room < 1 || room - headroomAbove(t.rank) < 1) return false;
    return (await store.listByOwner(pool, t.owner)).length < s.perEmployeeLimit;
  };
  const ahead = (u: WaitTicket, t: WaitTicket) => u.rank > t.rank || (u.rank === t.rank && joined.get(u.id)! < joined.get(t.id)!);

  const offers = pushed.flatMap((c) => (c.kind === 'offered' && c.ticket.pool === pool ? [c.ticket] : []));
  for (const t of offers) {
    const m = s.members.find((x) => x.id === t.offer!.member);
    check(step, m !== undefined && m.active <= m.maxSessions, `offer ${t.id} on ${t.offer!.member}: ${m?.active} held > maxSessions ${m?.maxSessions}`);
    check(step, s.licenceLimit === null || s.active <= s.licenceLimit, `offers took ${s.active} > licence limit ${s.licenceLimit}`);
    const a = s.agencies.find((x) => x.id === t.agency);
    check(step, a !== undefined && a.active <= a.maximum, `offer ${t.id} put agency ${t.agency} above its maximum`);
    check(step, s.free >= reservedFor(t.agency), `offer ${t.id} ate into other agencies' unused guarantees`);
    // A request queued in this step joined after the step's offers were made.
    for (const u of inLine) {
      if (joined.get(u.id)! < ticketsBefore && ahead(u, t)) check(step, !(await admissible(u)), `offered ${t.id} (rank ${t.rank}) while ${u.id} (rank ${u.rank}), ahead in line, was admissible`);
    }
  }
  // A pool whose waiting room was taken away makes no offers; its waiters drop out at their deadline.
  const hasRoom = (await store.getPoolSpec(pool))?.waitingRoom !== undefined;
  if (hasRoom && inLine.length > 0 && s.free >= 1 && model.hasAdmissionToken(pool)) {
    for (const u of inLine) check(step, !(await admissible(u)), `a slot is free and ${u.id} waits, admissible, with no offer`);
  }
}

function assertProperty(open: OpenStore, numRuns: number): Promise<void> {
  return fc.assert(
    fc.asyncProperty(scenario, (sc) => runScenario(open, sc)),
    { seed: SEED, numRuns: RUNS ?? numRuns },
  );
}

// ---- the two stores ------------------------------------------------------------------------

describe(`LeaseStore properties (seed ${SEED})`, () => {
  it('the memory store answers like the reference model and keeps the invariants', async () => {
    // Bulk renewals in parts of 1, 2 or (at most 6 ids reported) one step, by turns.
    let run = 0;
    await assertProperty(async (clock, options) => ({ store: new MemoryLeaseStore({ ...options, clock, bulkRenewalPart: [1, 2, 1_000][run++ % 3]! }), cleanup: async () => {} }), 200);
  }, 120_000);

  describe('the Redis store on 127.0.0.1:6379', () => {
    let admin: Redis;

    beforeAll(async () => {
      admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      // Fails the suite loudly when Redis is not there; never a skip.
      await expect(admin.ping()).resolves.toBe('PONG');
    });

    afterAll(async () => {
      await admin?.quit();
    });

    async function deleteUnder(prefix: string): Promise<void> {
      let cursor = '0';
      do {
        const [nextCursor, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        if (keys.length) await admin.unlink(...keys);
        cursor = nextCursor;
      } while (cursor !== '0');
    }

    it('answers like the reference model and keeps the invariants', async () => {
      // Bulk renewals in parts of 1, 2 or (at most 6 ids reported) one call, by turns.
      let run = 0;
      await assertProperty(async (clock, options) => {
        const keyPrefix = `test:${randomUUID()}:`;
        const bulkRenewalPart = [1, 2, 1_000][run++ % 3]!;
        const store = new RedisLeaseStore(new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }), { ...options, keyPrefix, clock, bulkRenewalPart });
        return {
          store,
          cleanup: async () => {
            await store.close();
            await deleteUnder(keyPrefix);
          },
        };
      }, 200);
    }, 240_000);
  });
});
