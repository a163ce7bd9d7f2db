import { Inject, Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import { hasRole, type Principal } from '../auth/principal';
import type { CircuitBreakerConfig } from '../config/operations.schema';
import type { BreakerState, PoolOverrides } from '../domain/pool-overrides';
import { BrokerError } from '../errors/error-codes';
import { ConfigRepository } from '../repositories/config.repository';
import { CronRepository } from '../repositories/cron.repository';
import { LEASE_STORE, type LeasePort, type BreakerPort } from '../repositories/lease-store';
import { MetricsRepository, type CounterMetric } from '../repositories/metrics.repository';
import { BrokerEvents } from './broker-events';
import { failureError, storeCall } from './lease-errors';
import { RuntimeChangesService } from './runtime-changes.service';

export const BREAKER = 'circuit-breaker';
/** The longest a member stays open before it is tried again, however often it tripped. */
const MAX_OPEN_MS = 24 * 3600 * 1000;

export interface FailureReportResult {
  pool: string;
  member: string;
  /** Distinct reporters within the window, this one included. */
  failures: number;
  /** Reports that take the member out (1 while it is on probation); null when the breaker is not configured. */
  threshold: number | null;
  /** This report took the member out. */
  tripped: boolean;
}

/**
 * The circuit breaker (docs/operations.md, "Circuit breaker"). Failures are
 * reported per member (clients that cannot connect, agents); when
 * `failureThreshold` distinct reporters report within `windowSeconds`, or an
 * agent's bulk renewal shows mass loss, the member goes out of service with
 * the reason, an audit record and a metric. After `openSeconds` it returns on
 * probation (half-open); one failure report then takes it out again for twice
 * as long, none within `halfOpenSeconds` closes the breaker. An operator's
 * state change resets it. Counts and states live in the store, so every
 * replica sees the same breaker, and each transition is one compare-and-set:
 * it happens once, whichever replica sees it first.
 */
@Injectable()
export class CircuitBreakerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(CircuitBreakerService.name);
  private readonly cfg: CircuitBreakerConfig | undefined;
  private readonly pools: string[];
  private readonly transitions: CounterMetric<'pool' | 'member' | 'to'>;
  private off: (() => void) | null = null;

  constructor(
    @Inject(LEASE_STORE) private readonly store: LeasePort & BreakerPort,
    private readonly changes: RuntimeChangesService,
    private readonly events: BrokerEvents,
    private readonly cron: CronRepository,
    config: ConfigRepository,
    metrics: MetricsRepository,
  ) {
    this.cfg = config.get().broker.circuitBreaker;
    this.pools = config.get().broker.pools.map((p) => p.id);
    this.transitions = metrics.counter(
      'broker_member_breaker_transitions_total',
      'Circuit-breaker transitions made by this replica: a member taken out (open), returned on probation (half-open) or cleared (closed).',
      ['pool', 'member', 'to'],
    );
    // Every member's series from the start at 0, so a scrape shows them and increase() sees the first trip.
    if (this.cfg) {
      for (const p of config.get().broker.pools) {
        for (const m of p.members) for (const to of ['open', 'half-open', 'closed']) this.transitions.inc({ pool: p.id, member: m.id, to }, 0);
      }
    }
  }

  onApplicationBootstrap(): void {
    if (!this.cfg) return;
    this.off = this.events.on('bulkRenewed', (r) => void this.onBulkRenewal(r));
    // Half-open and close when their time is up; every replica looks, one transition lands.
    this.cron.schedule('circuit-breaker', '*/5 * * * * *', 'UTC', () => this.tick());
  }

  beforeApplicationShutdown(): void {
    this.off?.();
  }

  /**
   * A failure report. Employees report for a member they hold a live grant on,
   * gateway agents for their own members, operators for any.
   */
  async report(who: Principal, pool: string, member: string, grantId?: string): Promise<FailureReportResult> {
    await this.mayReport(who, pool, member, grantId);
    const windowMs = (this.cfg?.windowSeconds ?? 60) * 1000;
    const r = await this.call('recordMemberFailure', () => this.store.recordMemberFailure(pool, member, who.owner, windowMs));
    if (!r.ok) throw failureError(r.failure);
    if (!this.cfg) return { pool, member, failures: r.value, threshold: null, tripped: false };
    const layers = await this.changes.layers(pool);
    const onProbation = layers.overrides.breakers?.[member]?.phase === 'half-open';
    const threshold = onProbation ? 1 : this.cfg.failureThreshold;
    let tripped = false;
    if (r.value >= threshold) {
      tripped = await this.trip(pool, member, `circuit breaker: ${r.value} failure report(s) within ${this.cfg.windowSeconds} s${onProbation ? ' while on probation' : ''}`);
    }
    return { pool, member, failures: r.value, threshold, tripped };
  }

  /** Takes an active member out of service; false if it was not active (already out, drained by someone). */
  async trip(pool: string, member: string, reason: string): Promise<boolean> {
    const cfg = this.cfg;
    if (!cfg) return false;
    const result = await this.changes.change(pool, (layers, now) => {
      const m = layers.effective.members.find((x) => x.id === member);
      if (!m || m.state !== 'active') return null;
      const trips = (layers.overrides.breakers?.[member]?.trips ?? 0) + 1;
      const openMs = cfg.openSeconds === null ? null : Math.min(MAX_OPEN_MS, cfg.openSeconds * 1000 * 2 ** (trips - 1));
      const breaker: BreakerState = { phase: 'open', since: now, until: openMs === null ? null : now + openMs, trips };
      const o = structuredClone(layers.overrides);
      (o.breakers ??= {})[member] = breaker;
      (o.members ??= {})[member] = { ...o.members[member], state: 'out-of-service', stateBy: BREAKER, stateReason: reason, stateSince: now };
      return { overrides: o, audit: { ev: 'operator', by: BREAKER, act: 'breaker-open', m: member, d: JSON.stringify({ reason, trips, until: breaker.until }) } };
    });
    if (result.changed) {
      this.transitions.inc({ pool, member, to: 'open' });
      this.log.warn(`pool ${pool}: member ${member} taken out of service by the circuit breaker (${reason})`);
      await this.call('clearMemberFailures', () => this.store.clearMemberFailures(pool, member));
    }
    return result.changed;
  }

  /** Moves every breaker whose time is up: open → half-open (member back on probation), half-open → closed. */
  async tick(): Promise<void> {
    if (!this.cfg) return;
    for (const pool of this.pools) {
      try {
        const layers = await this.changes.layers(pool);
        for (const member of Object.keys(layers.overrides.breakers ?? {})) await this.advance(pool, member);
      } catch (e) {
        this.log.warn(`circuit breaker check of pool ${pool} failed: ${(e as Error).message}`);
      }
    }
  }

  private async advance(pool: string, member: string): Promise<void> {
    const cfg = this.cfg!;
    let to: 'half-open' | 'closed' | null = null;
    const result = await this.changes.change(pool, (layers, now) => {
      const b = layers.overrides.breakers?.[member];
      if (!b) return null;
      const o = structuredClone(layers.overrides);
      const mo = o.members?.[member];
      if (mo?.stateBy !== BREAKER) {
        // Someone else set the state since (operator, schedule): the breaker lets go.
        delete o.breakers![member];
        to = 'closed';
        return { overrides: tidy(o), audit: { ev: 'operator', by: BREAKER, act: 'breaker-closed', m: member, d: JSON.stringify({ reason: 'state set by someone else' }) } };
      }
      if (b.until === null || b.until > now) return null;
      if (b.phase === 'open') {
        const until = now + cfg.halfOpenSeconds * 1000;
        o.breakers![member] = { phase: 'half-open', since: now, until, trips: b.trips };
        o.members![member] = { ...mo, state: 'active', stateBy: BREAKER, stateReason: `circuit breaker: on probation until ${new Date(until).toISOString()}`, stateSince: now };
        to = 'half-open';
        return { overrides: o, audit: { ev: 'operator', by: BREAKER, act: 'breaker-half-open', m: member, d: JSON.stringify({ until, trips: b.trips }) } };
      }
      delete o.breakers![member];
      delete o.members![member]!.state;
      delete o.members![member]!.stateBy;
      delete o.members![member]!.stateReason;
      delete o.members![member]!.stateSince;
      to = 'closed';
      return { overrides: tidy(o), audit: { ev: 'operator', by: BREAKER, act: 'breaker-closed', m: member, d: JSON.stringify({ trips: b.trips }) } };
    });
    if (result.changed && to) {
      this.transitions.inc({ pool, member, to });
      this.log.log(`pool ${pool}: circuit breaker of member ${member} ${to}`);
      await this.call('clearMemberFailures', () => this.store.clearMemberFailures(pool, member));
    }
  }

  private async onBulkRenewal(r: { pool: string; member: string; renewed: number; released: number; expired: number }): Promise<void> {
    const { minimum, ratio } = this.cfg!.massLoss;
    const carried = r.renewed + r.expired;
    if (r.expired < minimum || r.expired < ratio * carried) return;
    try {
      await this.trip(r.pool, r.member, `circuit breaker: mass loss, ${r.expired} of ${carried} sessions gone in one agent report`);
    } catch (e) {
      this.log.warn(`circuit breaker: mass loss on ${r.pool}/${r.member} not acted on: ${(e as Error).message}`);
    }
  }

  private async mayReport(who: Principal, pool: string, member: string, grantId?: string): Promise<void> {
    if (hasRole(who, 'operator')) return;
    if (hasRole(who, 'gateway-agent') && who.members.has(`${pool}/${member}`)) return;
    if (!hasRole(who, 'employee')) throw new BrokerError('forbidden', `this token may not report failures of ${pool}/${member}`);
    if (!grantId) throw new BrokerError('validation-failed', 'an employee reports a failure with the grant it concerns', { errors: [{ path: '/grantId', message: 'required for employees' }] });
    const g = await this.call('get', () => this.store.get(pool, grantId, who.owner));
    if (!g.ok) throw failureError(g.failure);
    if (g.value.member !== member) throw new BrokerError('forbidden', `grant ${grantId} is not on member ${member}`);
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return storeCall(this.events, operation, fn);
  }
}

/** Drops empty member entries and maps. */
function tidy(o: PoolOverrides): PoolOverrides {
  for (const [id, m] of Object.entries(o.members ?? {})) if (Object.keys(m).length === 0) delete o.members![id];
  if (o.members && Object.keys(o.members).length === 0) delete o.members;
  if (o.breakers && Object.keys(o.breakers).length === 0) delete o.breakers;
  return o;
}
