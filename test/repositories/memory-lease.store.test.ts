import type { PoolSpec } from '../../src/domain/pool-spec';
import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { describeLeaseStoreContract } from './lease-store.contract';

const options = { reapBatch: 100, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000 };

describeLeaseStoreContract('memory', async ({ clock, options: overrides }) => ({
  store: new MemoryLeaseStore({ ...options, ...overrides, clock }),
  cleanup: async () => {},
}));

describe('MemoryLeaseStore specifics', () => {
  const T0 = 1_700_000_000_000;
  const vpn = (members: number, maxSessions: number): PoolSpec => ({
    id: 'vpn',
    kind: 'vpn',
    strategy: 'breadth-first',
    licenceLimit: null,
    perEmployeeLimit: 1,
    leaseTtlMs: 120_000,
    retryAfterSeconds: 60,
    members: Array.from({ length: members }, (_, i) => ({ id: `gw-${i + 1}`, maxSessions, state: 'active' as const })),
    agencies: [{ id: 'a', guaranteed: 0, maximum: members * maxSessions + 1 }],
  });

  it('uses the process clock when none is given', async () => {
    const store = new MemoryLeaseStore(options);
    const before = Date.now();
    const now = await store.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
    expect(store.kind).toBe('memory');
  });

  it('hands out copies: changing a returned grant or spec changes nothing stored', async () => {
    const store = new MemoryLeaseStore({ ...options, clock: () => T0 });
    const spec = vpn(1, 2);
    await store.syncPools([spec]);
    spec.members[0]!.maxSessions = 99;
    const r = await store.grant({ pool: 'vpn', owner: 'o1', agency: 'a', clientId: 'c', newGrantId: 'g1' });
    if (!r.ok || r.value.outcome !== 'created') throw new Error('expected a grant');
    r.value.grant.expiresAt = 0;
    (await store.getPoolSpec('vpn'))!.members[0]!.maxSessions = 77;
    expect(await store.get('vpn', 'g1')).toMatchObject({ ok: true, value: { expiresAt: T0 + 120_000 } });
    expect((await store.getPoolSpec('vpn'))!.members[0]!.maxSessions).toBe(2);
  });

  it('forgets idempotency keys whose time is up as it goes, so memory stays bounded', async () => {
    let now = T0;
    const store = new MemoryLeaseStore({ ...options, idempotencyTtlMs: 10_000, clock: () => now });
    await store.syncPools([vpn(2, 1000)]);
    for (let i = 0; i < 500; i++) {
      await store.grant({ pool: 'vpn', owner: `o${i}`, agency: 'a', clientId: 'c', newGrantId: `g${i}`, idempotencyKey: 'k' });
    }
    const remembered = () => (store as unknown as { pools: Map<string, { remembered: Map<string, unknown> }> }).pools.get('vpn')!.remembered.size;
    expect(remembered()).toBe(500);
    now += 10_000;
    await store.grant({ pool: 'vpn', owner: 'late', agency: 'a', clientId: 'c', newGrantId: 'g-late', idempotencyKey: 'k' });
    expect(remembered()).toBe(1);
  });

  it('holds 60,000 leases: spreads them evenly, refuses the next, reclaims them all oldest first', async () => {
    let now = T0;
    const store = new MemoryLeaseStore({ ...options, clock: () => now });
    await store.syncPools([vpn(12, 5000)]);
    for (let i = 0; i < 60_000; i++) {
      if (i % 1000 === 0) now += 1;
      const r = await store.grant({ pool: 'vpn', owner: `o${i}`, agency: 'a', clientId: 'c', newGrantId: `g${i}` });
      if (!r.ok || r.value.outcome !== 'created') throw new Error(`grant ${i} not created`);
    }
    const full = await store.snapshot('vpn');
    expect(full.ok && full.value.members.map((m) => m.active)).toEqual(Array(12).fill(5000));
    const refused = await store.grant({ pool: 'vpn', owner: 'one-more', agency: 'a', clientId: 'c', newGrantId: 'g-x' });
    expect(refused.ok && refused.value.outcome === 'refused' && refused.value.code).toBe('pool-full');
    now += 120_000;
    const reclaimed = await store.reap('vpn', 100_000);
    expect(reclaimed).toHaveLength(60_000);
    // The first thousand leases (created at T0+1) come first, in grant-id order among equal expiries.
    expect(reclaimed.slice(0, 1000).map((e) => e.id)).toEqual(Array.from({ length: 1000 }, (_, i) => `g${i}`).sort());
    const empty = await store.snapshot('vpn');
    expect(empty.ok && [empty.value.active, empty.value.free]).toEqual([0, 60_000]);
  });
});
