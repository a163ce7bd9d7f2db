import type { Grant, GrantCommand, GrantResult, PoolSnapshot } from '../../../src/domain/grant';
import type { PoolSpec } from '../../../src/domain/pool-spec';
import { FENCE_PER_MS } from '../../../src/domain/fencing';
import type { LeaseResult, LeaseStore, LeaseStoreOptions } from '../../../src/repositories/lease-store';

export type MakeLeaseStore = (opts: {
  clock: () => number;
  options?: Partial<LeaseStoreOptions>;
}) => Promise<{ store: LeaseStore; cleanup: () => Promise<void> }>;

export const T0 = 1_700_000_000_000;
export const TTL = 120_000;
export const GRACE = 60_000;
export const IDEM_TTL = 600_000;
export const RETRY = 30;

/** The n-th fencing token issued within store millisecond `at` (src/domain/fencing.ts). */
export const fence = (n: number, at = T0) => at * FENCE_PER_MS + n - 1;

export function value<T>(r: LeaseResult<T>): T {
  if (!r.ok) throw new Error(`expected success, got failure '${r.failure}'`);
  return r.value;
}

/**
 * What every rule group of the contract shares: the store under test (opened per test with a fresh
 * clock at T0), the clock (`h.now`, moved only by the tests), and helpers that make commands and read
 * answers. Call inside a describe: it registers the afterEach that closes the stores.
 */
export function contractHarness(makeStore: MakeLeaseStore) {
  let now = T0;
  let store: LeaseStore | undefined;
  const cleanups: Array<() => Promise<void>> = [];
  let seq = 0;

  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  const h = {
    get now(): number {
      return now;
    },
    set now(t: number) {
      now = t;
    },
    get store(): LeaseStore {
      if (!store) throw new Error('open() a store first');
      return store;
    },

    /** Opens a store (with a fresh clock at T0) holding the given pools. */
    async open(pools: PoolSpec[], options: Partial<LeaseStoreOptions> = {}): Promise<LeaseStore> {
      now = T0;
      const made = await makeStore({
        clock: () => now,
        options: { reapBatch: 100, bulkRenewalGraceMs: GRACE, idempotencyTtlMs: IDEM_TTL, ...options },
      });
      cleanups.push(made.cleanup);
      store = made.store;
      await store.syncPools(pools);
      return store;
    },

    cmd(owner: string, agency = 'a', extra: Partial<GrantCommand> = {}): GrantCommand {
      seq += 1;
      return { pool: 'p', owner, agency, clientId: 'c1', newGrantId: `g${String(seq).padStart(5, '0')}`, ...extra };
    },

    async grant(c: GrantCommand): Promise<GrantResult> {
      return value(await h.store.grant(c));
    },

    /** Grants and expects a new lease. */
    async create(owner: string, agency = 'a', extra: Partial<GrantCommand> = {}): Promise<Grant> {
      const r = await h.grant(h.cmd(owner, agency, extra));
      if (r.outcome !== 'created') throw new Error(`expected created, got ${r.outcome}${r.outcome === 'refused' ? ` (${r.code})` : ''}`);
      return r.grant;
    },

    async refusal(c: GrantCommand): Promise<{ code: string; retryAfterSeconds: number | null }> {
      const r = await h.grant(c);
      if (r.outcome !== 'refused') throw new Error(`expected a refusal, got ${r.outcome}`);
      return { code: r.code, retryAfterSeconds: r.retryAfterSeconds };
    },

    async snap(id = 'p'): Promise<PoolSnapshot> {
      return value(await h.store.snapshot(id));
    },

    async counts(): Promise<{ active: number; members: Record<string, number>; agencies: Record<string, number> }> {
      const s = await h.snap();
      return {
        active: s.active,
        members: Object.fromEntries(s.members.map((m) => [m.id, m.active])),
        agencies: Object.fromEntries(s.agencies.map((a) => [a.id, a.active])),
      };
    },

    async setSpec(overrides: Partial<PoolSpec>): Promise<void> {
      const current = (await h.store.getPoolSpec('p'))!;
      await h.store.syncPools([{ ...current, ...overrides }]);
    },
  };
  return h;
}

export type ContractHarness = ReturnType<typeof contractHarness>;
