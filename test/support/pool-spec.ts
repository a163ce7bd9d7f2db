import type { AgencyShare, MemberSpec, PoolSpec } from '../../src/domain/pool-spec';

/** Builders for store tests: a small pool `p` of two members and two agencies, overridable field by field. */
export const member = (id: string, maxSessions: number, state: MemberSpec['state'] = 'active'): MemberSpec => ({ id, maxSessions, state });
export const share = (id: string, guaranteed: number, maximum: number): AgencyShare => ({ id, guaranteed, maximum });

export function poolSpec(overrides: Partial<PoolSpec> = {}): PoolSpec {
  return {
    id: 'p',
    kind: 'vpn',
    strategy: 'breadth-first',
    licenceLimit: null,
    perEmployeeLimit: 1,
    leaseTtlMs: 120_000,
    retryAfterSeconds: 30,
    members: [member('m1', 10), member('m2', 10)],
    agencies: [share('a', 0, 100), share('b', 0, 100)],
    ...overrides,
  };
}
