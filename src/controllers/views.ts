import { hasRole, type Principal } from '../auth/principal';
import type { Grant, PoolSnapshot } from '../domain/grant';
import type { GrantView } from '../dtos/grant.dto';
import type { PoolView } from '../dtos/pool.dto';

export function grantView(g: Grant, who: Principal, hostOf: (pool: string, member: string) => string | undefined): GrantView {
  const host = hostOf(g.pool, g.member);
  return {
    id: g.id,
    pool: g.pool,
    member: g.member,
    ...(host !== undefined ? { memberHost: host } : {}),
    agency: g.agency,
    clientId: g.clientId,
    fencingToken: g.fencingToken,
    createdAt: new Date(g.createdAt).toISOString(),
    expiresAt: new Date(g.expiresAt).toISOString(),
    ttlSeconds: Math.round(g.ttlMs / 1000),
    status: 'active',
    ...(hasRole(who, 'operator') ? { owner: g.owner } : {}),
  };
}

export function poolView(s: PoolSnapshot): PoolView {
  return {
    id: s.id,
    kind: s.kind,
    ...(s.name !== undefined ? { name: s.name } : {}),
    strategy: s.strategy,
    licenceLimit: s.licenceLimit,
    capacity: s.capacity,
    active: s.active,
    free: s.free,
    utilisation: s.capacity > 0 ? Math.round((s.active / s.capacity) * 10_000) / 10_000 : 0,
    perEmployeeLimit: s.perEmployeeLimit,
    leaseTtlSeconds: Math.round(s.leaseTtlMs / 1000),
    members: s.members.map((m) => ({
      id: m.id,
      ...(m.host !== undefined ? { host: m.host } : {}),
      state: m.state,
      maxSessions: m.maxSessions,
      active: m.active,
      ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
      ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
      ...(m.stateSince !== undefined ? { stateSince: new Date(m.stateSince).toISOString() } : {}),
    })),
    agencies: s.agencies.map((a) => ({ ...a })),
    waiting: s.waiting,
    offered: s.offered,
    headroom: s.headroom.map((h) => ({ ...h })),
    at: new Date(s.at).toISOString(),
  };
}
