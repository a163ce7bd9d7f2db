import { BULK_RENEWAL_MAX_IDS } from '../../src/domain/grant';
import { applyOverrides, configuredCapacityOf, poolSpecProblems } from '../../src/domain/pool-overrides';
import type { PoolSpec } from '../../src/domain/pool-spec';
import { firstExpiry, renewedExpiry } from '../../src/domain/session-limit';

const base: PoolSpec = {
  id: 'p',
  kind: 'vpn',
  strategy: 'breadth-first',
  licenceLimit: 10,
  perEmployeeLimit: 1,
  leaseTtlMs: 60_000,
  retryAfterSeconds: 30,
  maxSessionMs: 3_600_000,
  members: [
    { id: 'm1', maxSessions: 4, state: 'active' },
    { id: 'm2', maxSessions: 4, state: 'out-of-service' },
  ],
  agencies: [
    { id: 'a', guaranteed: 2, maximum: 6 },
    { id: 'b', guaranteed: 1, maximum: 6 },
  ],
};

describe('applyOverrides', () => {
  it('is the base itself without overrides, as a copy', () => {
    const e = applyOverrides(base, {});
    expect(e).toEqual(base);
    e.members[0]!.maxSessions = 99;
    expect(base.members[0]!.maxSessions).toBe(4);
  });

  it('layers pool, member and agency values; null removes the licence limit and the maximum session duration', () => {
    const e = applyOverrides(base, {
      licenceLimit: null,
      perEmployeeLimit: 2,
      maxSessionMs: null,
      members: { m2: { state: 'active', stateBy: 'schedule:peak', stateReason: 'peak', stateSince: 5 }, m9: { maxSessions: 1 } },
      agencies: { b: { maximum: 3 } },
    });
    expect(e.licenceLimit).toBeNull();
    expect(e.perEmployeeLimit).toBe(2);
    expect(e).not.toHaveProperty('maxSessionMs');
    expect(e.members).toEqual([
      { id: 'm1', maxSessions: 4, state: 'active' },
      { id: 'm2', maxSessions: 4, state: 'active', stateBy: 'schedule:peak', stateReason: 'peak', stateSince: 5 },
    ]);
    expect(e.agencies[1]).toEqual({ id: 'b', guaranteed: 1, maximum: 3 });
  });
});

describe('poolSpecProblems: the config file’s rules for one effective definition', () => {
  it('finds nothing wrong with a sound pool', () => {
    expect(poolSpecProblems(base)).toEqual([]);
    expect(configuredCapacityOf(base)).toBe(8); // members in any state, capped by the licence
  });

  it('names guarantees above capacity, guarantee above maximum and non-positive figures', () => {
    const bad = applyOverrides(base, { licenceLimit: 2, perEmployeeLimit: 0, members: { m1: { maxSessions: 0 } }, agencies: { a: { guaranteed: 7 } } });
    expect(poolSpecProblems(bad).map((p) => p.path)).toEqual(['/perEmployeeLimit', '/members/m1/maxSessions', '/agencies/a/guaranteed', '/agencies']);
    expect(poolSpecProblems(bad).at(-1)!.message).toBe("guaranteed shares of all agencies add up to 8, more than the pool's capacity of 2");
  });

  it('names a member with more sessions than one bulk renewal can report, and not one with exactly that many', () => {
    expect(poolSpecProblems(applyOverrides(base, { members: { m1: { maxSessions: BULK_RENEWAL_MAX_IDS } } }))).toEqual([]);
    const large = poolSpecProblems(applyOverrides(base, { members: { m1: { maxSessions: BULK_RENEWAL_MAX_IDS + 1 } } }));
    expect(large).toEqual([{ path: '/members/m1/maxSessions', message: expect.stringMatching(/^must be at most 20,000: .*one bulk renewal/) }]);
  });
});

describe('maximum session duration', () => {
  const lease = { createdAt: 0, expiresAt: 60_000, ttlMs: 60_000 };
  it('creates for the TTL or up to the maximum', () => {
    expect(firstExpiry({}, 60_000, 10)).toBe(60_010);
    expect(firstExpiry({ maxSessionMs: 30_000 }, 60_000, 10)).toBe(30_010);
  });
  it('renews by the TTL, never past createdAt + maximum, never shorter than now', () => {
    expect(renewedExpiry({}, lease, 50_000)).toBe(110_000);
    expect(renewedExpiry({ maxSessionMs: 100_000 }, lease, 50_000)).toBe(100_000);
    expect(renewedExpiry({ maxSessionMs: 40_000 }, lease, 30_000)).toBe(60_000);
  });
});
