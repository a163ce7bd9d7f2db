import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import type { BreakerState, PoolLayers, PoolOverrides } from '../domain/pool-overrides';
import type { MemberState, PoolSpec } from '../domain/pool-spec';
import { BrokerError } from '../errors/error-codes';
import { LEASE_STORE, type LeasePort, type BreakerPort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';
import { failureError, storeCall } from './lease-errors';
import { RuntimeChangesService } from './runtime-changes.service';

/** One member as an operator sees it: state (and why), capacity, the sessions still on it, its breaker. */
export interface MemberDetail {
  pool: string;
  id: string;
  host?: string;
  state: MemberState;
  stateReason?: string;
  stateBy?: string;
  stateSince?: number;
  maxSessions: number;
  /** Sessions on the member now; in drain or out of service they run on until they end. */
  active: number;
  /** As the config file has it. */
  configured: { state: MemberState; maxSessions: number };
  breaker: BreakerState | null;
}

/** A change of limits and capacities (only what is given changes; null removes a limit). */
export interface PoolPatch {
  licenceLimit?: number | null;
  perEmployeeLimit?: number;
  maxSessionMinutes?: number | null;
  members?: { id: string; maxSessions: number }[];
  agencies?: { id: string; guaranteed?: number; maximum?: number }[];
  reason?: string;
}

export interface OverridesSummary {
  pool: string;
  revision: number;
  /** The runtime changes, as stored (layered over the config file). */
  overrides: PoolOverrides;
  /** The effective definition every admission reads. */
  effective: PoolSpec;
  /** The config file's definition. */
  configured: PoolSpec;
}

/**
 * The operator API's rules: drain, take out of service and bring back a
 * member; change capacities, shares and limits; undo every runtime change.
 * Each change is stored (runtime overrides), applies to every replica at once,
 * survives restarts and is audited with the operator's pseudonym.
 */
@Injectable()
export class OperatorService {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeasePort & BreakerPort,
    private readonly changes: RuntimeChangesService,
    private readonly events: BrokerEvents,
  ) {}

  async member(pool: string, member: string): Promise<MemberDetail> {
    const layers = await this.changes.layers(pool);
    return this.detail(layers, pool, member);
  }

  /**
   * Sets a member's state. `active` brings it back (and resets its circuit
   * breaker); `drain` stops new sessions while running ones continue;
   * `out-of-service` likewise, for a member that is down or being serviced.
   * Sessions are never ended here.
   */
  async setMemberState(who: Principal, pool: string, member: string, state: MemberState, reason?: string): Promise<MemberDetail> {
    const result = await this.changes.change(pool, (layers, now) => {
      const current = memberOf(layers.effective, member);
      const text = reason ?? `set to ${state} by an operator`;
      if (current.state === state && current.stateReason === text && !layers.overrides.breakers?.[member]) return null;
      const overrides = structuredClone(layers.overrides);
      (overrides.members ??= {})[member] = { ...overrides.members[member], state, stateReason: text, stateBy: 'operator', stateSince: now };
      if (overrides.breakers) delete overrides.breakers[member];
      return {
        overrides,
        audit: { ev: 'operator', by: who.owner, act: 'member-state', m: member, d: JSON.stringify({ from: current.state, to: state, reason: text }) },
      };
    });
    if (result.changed) await this.call('clearMemberFailures', () => this.store.clearMemberFailures(pool, member));
    return this.detail(result.layers, pool, member);
  }

  /** Changes limits, capacities and shares; checked against the config file's rules first. */
  async patchPool(who: Principal, pool: string, patch: PoolPatch): Promise<OverridesSummary> {
    const result = await this.changes.change(pool, (layers) => {
      for (const m of patch.members ?? []) memberOf(layers.base, m.id);
      for (const a of patch.agencies ?? []) {
        if (!layers.base.agencies.some((s) => s.id === a.id)) throw new BrokerError('unknown-agency', `agency ${a.id} has no share of pool ${pool}`);
      }
      const o = structuredClone(layers.overrides);
      if (patch.licenceLimit !== undefined) o.licenceLimit = patch.licenceLimit;
      if (patch.perEmployeeLimit !== undefined) o.perEmployeeLimit = patch.perEmployeeLimit;
      if (patch.maxSessionMinutes !== undefined) o.maxSessionMs = patch.maxSessionMinutes === null ? null : patch.maxSessionMinutes * 60_000;
      for (const m of patch.members ?? []) (o.members ??= {})[m.id] = { ...o.members[m.id], maxSessions: m.maxSessions };
      for (const a of patch.agencies ?? []) {
        (o.agencies ??= {})[a.id] = { ...o.agencies[a.id], ...(a.guaranteed !== undefined ? { guaranteed: a.guaranteed } : {}), ...(a.maximum !== undefined ? { maximum: a.maximum } : {}) };
      }
      const { reason, ...changes } = patch;
      return { overrides: o, audit: { ev: 'operator', by: who.owner, act: 'pool-change', d: JSON.stringify({ changes, ...(reason ? { reason } : {}) }) } };
    });
    return summary(pool, result.layers);
  }

  async overrides(pool: string): Promise<OverridesSummary> {
    return summary(pool, await this.changes.layers(pool));
  }

  /** Drops every runtime change of the pool: the config file's definition applies again (breakers reset too). */
  async resetOverrides(who: Principal, pool: string, reason?: string): Promise<OverridesSummary> {
    const result = await this.changes.change(pool, (layers) => {
      if (Object.keys(layers.overrides).length === 0) return null;
      return {
        overrides: {},
        audit: { ev: 'operator', by: who.owner, act: 'overrides-reset', d: JSON.stringify({ dropped: layers.overrides, ...(reason ? { reason } : {}) }) },
      };
    });
    return summary(pool, result.layers);
  }

  private async detail(layers: PoolLayers, pool: string, member: string): Promise<MemberDetail> {
    const m = memberOf(layers.effective, member);
    const configured = layers.base.members.find((b) => b.id === member) ?? m;
    const snap = await this.call('snapshot', () => this.store.snapshot(pool));
    if (!snap.ok) throw failureError(snap.failure);
    return {
      pool,
      id: m.id,
      ...(m.host !== undefined ? { host: m.host } : {}),
      state: m.state,
      ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
      ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
      ...(m.stateSince !== undefined ? { stateSince: m.stateSince } : {}),
      maxSessions: m.maxSessions,
      active: snap.value.members.find((s) => s.id === member)?.active ?? 0,
      configured: { state: configured.state, maxSessions: configured.maxSessions },
      breaker: layers.overrides.breakers?.[member] ?? null,
    };
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return storeCall(this.events, operation, fn);
  }
}

function memberOf(spec: PoolSpec, member: string) {
  const m = spec.members.find((x) => x.id === member);
  if (!m) throw failureError('unknown-member');
  return m;
}

function summary(pool: string, layers: PoolLayers): OverridesSummary {
  return { pool, revision: layers.revision, overrides: layers.overrides, effective: layers.effective, configured: layers.base };
}
