import type { PoolSpec } from '../domain/pool-spec';
import type { BrokerConfig } from './broker-config.schema';

/*
 * The configuration maps into the domain (the domain owns its types and imports nothing of config):
 * the pools file's pools as the PoolSpecs both stores keep.
 */

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
