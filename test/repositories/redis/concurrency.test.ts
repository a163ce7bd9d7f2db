import type Redis from 'ioredis';
import type { GrantResult } from '../../../src/domain/grant';
import type { PoolSpec } from '../../../src/domain/pool-spec';
import type { LeaseResult } from '../../../src/repositories/lease-store';
import type { RedisLeaseStore } from '../../../src/repositories/redis/redis-lease.store';
import { auditPool, violations } from './lease-audit';
import { connect, deleteUnder, member, newPrefix, openStore, poolSpec, share } from './redis-test-utils';

// Correctness under concurrency comes from each operation being one Lua script.
// These tests show it: several stores, each on its own connection like a broker
// replica, fire far more requests than there is capacity, all at once, and what is
// stored afterwards is checked against the rules.

const REPLICAS = 8;

function grantValue(r: LeaseResult<GrantResult>): GrantResult {
  if (!r.ok) throw new Error(`grant failed: ${r.failure}`);
  return r.value;
}

/** Small seeded PRNG (mulberry32), so a failing interleaving can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RedisLeaseStore under concurrency (several replicas on one Redis)', () => {
  let admin: Redis;
  let prefix: string;
  let replicas: RedisLeaseStore[];

  beforeAll(() => {
    admin = connect();
  });
  afterEach(async () => {
    await Promise.all(replicas.map((r) => r.close()));
    await deleteUnder(admin, prefix);
  });
  afterAll(async () => {
    await admin.quit();
  });

  function openReplicas(clock?: () => number, options = {}): RedisLeaseStore[] {
    prefix = newPrefix();
    replicas = Array.from({ length: REPLICAS }, () => openStore(prefix, { ...options, ...(clock ? { clock } : {}) }));
    return replicas;
  }

  it('grants exactly the capacity, per pool, member and agency, when far more ask at once', async () => {
    const stores = openReplicas();
    const licensed = poolSpec({
      id: 'licensed',
      licenceLimit: 22,
      members: [member('m1', 10), member('m2', 10), member('m3', 5)],
      agencies: [share('a', 5, 10), share('b', 5, 8), share('c', 0, 20)],
    });
    const byMembers = poolSpec({
      id: 'members',
      strategy: 'depth-first',
      members: [member('m1', 4), member('m2', 3), member('m3', 3)],
      agencies: [share('a', 0, 3), share('b', 2, 10), share('c', 0, 10)],
    });
    await stores[0]!.syncPools([licensed, byMembers]);

    // The agency without a guarantee asks first and most: only rule 10 keeps the others' guarantees free.
    const agencyOf = (i: number) => (i < 100 ? 'c' : 'ab'[i % 2]!);
    const requests = [
      ...Array.from({ length: 300 }, (_, i) => ({ pool: 'licensed', i })),
      ...Array.from({ length: 200 }, (_, i) => ({ pool: 'members', i })),
    ].sort((x, y) => x.i - y.i || x.pool.localeCompare(y.pool)); // the pools interleaved
    const results = await Promise.all(
      requests.map(({ pool, i }) =>
        stores[i % REPLICAS]!.grant({ pool, owner: `o${i}`, agency: agencyOf(i), clientId: 'c', newGrantId: `${pool}.g${i}` }).then(grantValue),
      ),
    );

    for (const [spec, capacity] of [
      [licensed, 22],
      [byMembers, 10],
    ] as const) {
      const mine = results.filter((_, k) => requests[k]!.pool === spec.id);
      const created = mine.filter((r) => r.outcome === 'created');
      expect(created).toHaveLength(capacity);
      // One distinct fencing token per grant, and none issued twice.
      const tokens = created.map((r) => (r.outcome === 'created' ? r.grant.fencingToken : 0));
      expect(new Set(tokens).size).toBe(capacity);
      for (const t of tokens) expect(Number.isSafeInteger(t) && t > 0).toBe(true);
      const refusals = new Set(mine.map((r) => (r.outcome === 'refused' ? r.code : 'created')));
      for (const code of refusals) expect(['created', 'agency-at-maximum', 'pool-full', 'capacity-reserved']).toContain(code);

      const audit = await auditPool(admin, prefix, spec.id);
      expect(violations(audit, spec, 0)).toEqual([]);
      expect(audit.grants).toHaveLength(capacity);
      const snap = await stores[1]!.snapshot(spec.id);
      expect(snap.ok && [snap.value.active, snap.value.free]).toEqual([capacity, 0]);
      // Every agency that asked for more than its guarantee got at least the guarantee.
      for (const a of spec.agencies) {
        const held = audit.grants.filter((g) => g.agency === a.id).length;
        expect(held).toBeGreaterThanOrEqual(a.guaranteed);
        expect(held).toBeLessThanOrEqual(a.maximum);
      }
    }
    const members = await auditPool(admin, prefix, 'members');
    expect(['m1', 'm2', 'm3'].map((m) => members.grants.filter((g) => g.member === m).length)).toEqual([4, 3, 3]);
  });

  it('one owner asking from many replicas at once: the per-employee limit, reconnects and idempotency hold', async () => {
    const stores = openReplicas();
    await stores[0]!.syncPools([poolSpec({ perEmployeeLimit: 2, members: [member('m1', 50), member('m2', 50)] })]);
    const fire = (n: number, cmd: (i: number) => { owner: string; clientId: string; idempotencyKey?: string }) =>
      Promise.all(Array.from({ length: n }, (_, i) => stores[i % REPLICAS]!.grant({ pool: 'p', agency: 'a', newGrantId: `p.${cmd(i).owner}-${i}`, ...cmd(i) }).then(grantValue)));

    const devices = await fire(40, (i) => ({ owner: 'alice', clientId: `device-${i}` }));
    expect(devices.filter((r) => r.outcome === 'created')).toHaveLength(2);
    expect(devices.filter((r) => r.outcome === 'refused' && r.code === 'employee-at-limit')).toHaveLength(38);

    const sameClient = await fire(40, () => ({ owner: 'bob', clientId: 'laptop' }));
    expect(sameClient.filter((r) => r.outcome === 'created')).toHaveLength(1);
    expect(sameClient.filter((r) => r.outcome === 'reconnected')).toHaveLength(39);
    expect(new Set(sameClient.map((r) => ('grant' in r ? r.grant.id : r.outcome))).size).toBe(1);

    const retried = await fire(40, (i) => ({ owner: 'carol', clientId: `c${i}`, idempotencyKey: 'once' }));
    expect(retried.filter((r) => r.outcome === 'created')).toHaveLength(1);
    expect(retried.filter((r) => r.outcome === 'replayed')).toHaveLength(39);
    expect(new Set(retried.map((r) => ('grant' in r ? r.grant.id : r.outcome))).size).toBe(1);

    expect(violations(await auditPool(admin, prefix, 'p'), (await stores[0]!.getPoolSpec('p'))!, 0)).toEqual([]);
    expect((await auditPool(admin, prefix, 'p')).grants).toHaveLength(4);
  });

  it('interleaved grants, releases, heartbeats, bulk renewals, sweeps and expiry across replicas keep every invariant', async () => {
    const seed = 20261121;
    const random = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    let now = 1_700_000_000_000;
    const TTL = 10_000;
    const stores = openReplicas(() => now, { reapBatch: 3, bulkRenewalGraceMs: 5_000 });
    const spec: PoolSpec = poolSpec({
      licenceLimit: 12,
      perEmployeeLimit: 2,
      leaseTtlMs: TTL,
      members: [member('m1', 5), member('m2', 5), member('m3', 4)],
      agencies: [share('a', 3, 8), share('b', 3, 8), share('c', 0, 10)],
    });
    await stores[0]!.syncPools([spec]);
    const owners = Array.from({ length: 30 }, (_, i) => ({ owner: `o${i}`, agency: 'abc'[i % 3]! }));
    const known: { id: string; owner: string }[] = [];
    const tokens = new Set<number>();
    let next = 0;
    let created = 0;

    for (let round = 0; round < 30; round++) {
      const ops = Array.from({ length: 40 }, (): Promise<unknown> => {
        const store = pick(stores);
        const roll = random();
        const g = known.length ? pick(known) : undefined;
        if (roll < 0.45 || !g) {
          const o = pick(owners);
          const idem = random() < 0.2 ? { idempotencyKey: `k${Math.floor(random() * 5)}` } : {};
          return store.grant({ pool: 'p', ...o, clientId: pick(['laptop', 'phone', 'tablet']), newGrantId: `p.n${next++}`, ...idem }).then((r) => {
            const v = grantValue(r);
            if (v.outcome === 'created') {
              created++;
              expect(tokens.has(v.grant.fencingToken)).toBe(false);
              tokens.add(v.grant.fencingToken);
              known.push({ id: v.grant.id, owner: v.grant.owner });
            }
          });
        }
        if (roll < 0.6) return store.release('p', g.id, random() < 0.9 ? g.owner : 'someone-else');
        if (roll < 0.75) return store.heartbeat('p', g.id, g.owner);
        if (roll < 0.8) return store.get('p', g.id);
        if (roll < 0.85) return store.listByOwner('p', g.owner);
        if (roll < 0.9) return store.snapshot('p');
        if (roll < 0.95) return store.reap('p', 1 + Math.floor(random() * 4));
        const ids = known.map((k) => k.id);
        return store.bulkRenew({
          pool: 'p',
          member: pick(['m1', 'm2', 'm3']),
          active: ids.filter(() => random() < 0.3),
          ended: ids.filter(() => random() < 0.05),
        });
      });
      await Promise.all(ops);
      const audit = await auditPool(admin, prefix, 'p');
      expect({ round, violations: violations(audit, spec, now) }).toEqual({ round, violations: [] });
      now += Math.floor(random() * 6_000);
    }
    // The run did exercise the interesting paths.
    expect(created).toBeGreaterThan(40);
    now += TTL;
    await stores[0]!.reap('p', 1_000);
    expect(violations(await auditPool(admin, prefix, 'p'), spec, now)).toEqual([]);
    expect((await auditPool(admin, prefix, 'p')).grants).toEqual([]);
  });
});
