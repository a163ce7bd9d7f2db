import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { memberStates } from '../config/broker-config.schema';
import { refusalCodes, type PoolSnapshot } from '../domain/grant';
import { ConfigRepository } from '../repositories/config.repository';
import { LEASE_STORE, type LeasePort, type StorePort } from '../repositories/lease-store';
import { MetricsRepository } from '../repositories/metrics.repository';
import { BrokerEvents } from './broker-events';
import { LiveUpdatesService } from './live-updates.service';

/** Label value used for anything not in the configuration, so label sets stay bounded. */
export const OTHER_LABEL = 'other';

/** Store calls made while scraping give up after this; a scrape must answer even when Redis hangs. */
export const SCRAPE_STORE_TIMEOUT_MS = 2_000;

const grantOutcomes = ['created', 'reconnected', 'replayed'] as const;

/** Seconds. Admission is one store round trip plus token checks: sub-millisecond to a few hundred ms. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * The broker's metrics.
 *
 * Two kinds, aggregated differently across replicas:
 * - Counters and histograms (grants, refusals, releases, expiries, latencies)
 *   count what *this* replica did, from `BrokerEvents`. Sum them over
 *   replicas: `sum by (pool) (rate(broker_grants_total[5m]))`.
 * - Gauges of shared state (capacity, active sessions, utilisation, member
 *   state, agency counts, waiting) are read from the store at scrape time,
 *   one snapshot per pool per scrape, so every replica reports the same
 *   truth. Aggregate them with `max` (never `sum`, which would multiply
 *   them by the number of replicas): `max by (pool) (broker_pool_active_sessions)`.
 *
 * Labels carry pool, member, agency, outcome and reason only, with values
 * taken from the configuration (anything else becomes "other"); never an
 * employee id or pseudonym.
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(MetricsService.name);
  private readonly unsubscribe: (() => void)[] = [];
  private inFlight: Promise<void> | null = null;

  private readonly pools: Set<string>;
  private readonly agencies: Set<string>;
  private readonly members = new Map<string, Set<string>>();

  private readonly grants;
  private readonly refusals;
  private readonly releases;
  private readonly expiries;
  private readonly renewals;
  private readonly admission;
  private readonly storeLatency;
  private readonly storeErrors;
  private readonly writesUnconfirmed;
  private readonly storeReplicas;
  private readonly storeClockOffset;
  /** Operations whose error series exists already (names match a fixed pattern; a few dozen at most). */
  private readonly storeOperationsSeen = new Set<string>();

  private readonly storeUp;
  private readonly wsConnections;
  private readonly scrapeErrors;
  private readonly poolCapacity;
  private readonly poolConfiguredCapacity;
  private readonly poolActive;
  private readonly poolFree;
  private readonly poolUtilisation;
  private readonly poolWaiting;
  private readonly poolOffered;
  private readonly memberCapacity;
  private readonly memberActive;
  private readonly memberState;
  private readonly agencyActive;
  private readonly agencyGuaranteed;
  private readonly agencyMaximum;

  constructor(
    private readonly metrics: MetricsRepository,
    private readonly events: BrokerEvents,
    private readonly config: ConfigRepository,
    @Inject(LEASE_STORE) private readonly store: LeasePort & Pick<StorePort, 'replicas' | 'now' | 'kind'>,
    private readonly live: LiveUpdatesService,
  ) {
    const cfg = config.get().broker;
    this.pools = new Set(cfg.pools.map((p) => p.id));
    this.agencies = new Set(cfg.agencies.map((a) => a.id));
    for (const p of cfg.pools) this.members.set(p.id, new Set(p.members.map((m) => m.id)));

    const m = metrics;
    this.grants = m.counter('broker_grants_total', 'Grants answered by this replica, by outcome (created, reconnected, replayed).', ['pool', 'agency', 'outcome']);
    this.refusals = m.counter('broker_refusals_total', 'Admissions refused by this replica, by refusal code.', ['pool', 'agency', 'reason']);
    this.releases = m.counter('broker_releases_total', 'Leases ended by their holder or a gateway agent, through this replica.', ['pool']);
    this.expiries = m.counter('broker_expiries_total', 'Leases reclaimed by this replica because nobody renewed them.', ['pool', 'member']);
    this.renewals = m.counter('broker_renewals_total', 'Leases renewed through this replica (heartbeats and bulk renewals).', ['pool']);
    this.admission = m.histogram('broker_admission_duration_seconds', 'Time to decide an admission, from request to answer, on this replica.', ['pool', 'outcome'], LATENCY_BUCKETS);
    this.storeLatency = m.histogram('broker_store_operation_duration_seconds', 'Round trip of one state-store operation from this replica.', ['operation'], LATENCY_BUCKETS);
    this.storeErrors = m.counter('broker_store_operation_errors_total', 'State-store operations from this replica that failed.', ['operation']);
    this.writesUnconfirmed = m.counter(
      'broker_store_writes_unconfirmed_total',
      'Writes the state store applied but too few of its replicas confirmed in time (REDIS_ACK_REPLICAS): answered 503, never confirmed. Also in broker_store_operation_errors_total.',
      [],
    );
    this.storeReplicas = m.gauge(
      'broker_store_replicas',
      "Replicas that must confirm every write (Sentinel's list for the master, REDIS_ACK_REPLICAS=all), and how many of them Sentinel holds down (shared state; aggregate with max).",
      ['state'],
      'max',
    );

    this.wsConnections = m.gauge('broker_websocket_connections', 'Open WebSocket connections of live pages on this replica (sum over replicas).', []);
    this.storeClockOffset = m.gauge(
      'broker_store_clock_offset_seconds',
      "The state store's time (Redis TIME, by which leases expire) minus this replica's clock (by which tokens are checked), read at the last scrape (absent while the store does not answer); 0 on the embedded store.",
      ['store'],
      'max',
    );
    this.storeUp = m.gauge('broker_store_up', '1 if this replica reached the state store at the last scrape, else 0.', [], 'min');
    this.scrapeErrors = m.counter('broker_scrape_store_errors_total', 'Scrapes whose shared-state gauges could not be read from the store.', []);
    this.poolCapacity = m.gauge('broker_pool_capacity_sessions', 'Sessions the pool can hold now: members in service, capped by the licence limit (shared state; aggregate with max).', ['pool', 'kind'], 'max');
    this.poolConfiguredCapacity = m.gauge('broker_pool_configured_capacity_sessions', 'Sessions the pool could hold with every member in service, capped by the licence limit (shared state; aggregate with max).', ['pool', 'kind'], 'max');
    this.poolActive = m.gauge('broker_pool_active_sessions', 'Sessions held in the pool, on all members (shared state; aggregate with max).', ['pool'], 'max');
    this.poolFree = m.gauge('broker_pool_free_sessions', 'Slots a new grant could take now (shared state; aggregate with max).', ['pool'], 'max');
    this.poolUtilisation = m.gauge('broker_pool_utilisation_ratio', 'Active sessions / capacity; 1 when no member is in service (shared state; aggregate with max).', ['pool'], 'max');
    this.poolWaiting = m.gauge('broker_pool_waiting_sessions', 'Employees waiting in the waiting room for a slot (shared state; aggregate with max).', ['pool'], 'max');
    this.poolOffered = m.gauge('broker_pool_offered_sessions', 'Slots offered to the head of the line and not yet claimed; they count as active (shared state; aggregate with max).', ['pool'], 'max');
    this.memberCapacity = m.gauge('broker_member_capacity_sessions', 'Maximum sessions of a member (shared state; aggregate with max).', ['pool', 'member'], 'max');
    this.memberActive = m.gauge('broker_member_active_sessions', 'Sessions held on a member (shared state; aggregate with max).', ['pool', 'member'], 'max');
    this.memberState = m.gauge('broker_member_state', '1 for the current state of a member (active, drain, out-of-service), else 0 (shared state; aggregate with max).', ['pool', 'member', 'state'], 'max');
    this.agencyActive = m.gauge('broker_agency_active_sessions', 'Sessions an agency holds in a pool (shared state; aggregate with max).', ['pool', 'agency'], 'max');
    this.agencyGuaranteed = m.gauge('broker_agency_guaranteed_sessions', "An agency's guaranteed share of a pool (shared state; aggregate with max).", ['pool', 'agency'], 'max');
    this.agencyMaximum = m.gauge('broker_agency_maximum_sessions', "An agency's maximum in a pool (shared state; aggregate with max).", ['pool', 'agency'], 'max');

    this.initialiseCounters();
  }

  onModuleInit(): void {
    const e = this.events;
    this.unsubscribe.push(
      e.on('granted', (p) => {
        const pool = this.pool(p.pool);
        this.grants.inc({ pool, agency: this.agency(p.agency), outcome: p.outcome });
        this.admission.observe({ pool, outcome: p.outcome }, p.durationMs / 1000);
      }),
      e.on('refused', (p) => {
        const pool = this.pool(p.pool);
        this.refusals.inc({ pool, agency: this.agency(p.agency), reason: p.code });
        this.admission.observe({ pool, outcome: 'refused' }, p.durationMs / 1000);
      }),
      e.on('renewed', (p) => this.renewals.inc({ pool: this.pool(p.pool) }, p.count)),
      e.on('released', (p) => this.releases.inc({ pool: this.pool(p.pool) })),
      e.on('expired', (p) => this.expiries.inc({ pool: this.pool(p.pool), member: this.member(p.pool, p.member) })),
      e.on('storeCall', (p) => {
        const operation = /^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(p.operation) ? p.operation : OTHER_LABEL;
        this.storeLatency.observe({ operation }, p.durationMs / 1000);
        // The error series exists from an operation's first call (adding 0), so rate() and dashboards see
        // it before any error; after that only errors touch it (a prom-client update costs a label hash).
        if (!p.ok) this.storeErrors.inc({ operation });
        if (p.unconfirmed) this.writesUnconfirmed.inc({});
        else if (!this.storeOperationsSeen.has(operation)) {
          this.storeOperationsSeen.add(operation);
          this.storeErrors.inc({ operation }, 0);
        }
      }),
    );
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Refreshes the shared-state gauges from the store and renders the registry. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.wsConnections.set({}, this.live.localConnections());
    await this.refreshSharedState();
    return { contentType: this.metrics.contentType, body: await this.metrics.render() };
  }

  /**
   * Reads one snapshot per pool and sets every shared-state gauge from it.
   * Concurrent scrapes (two Prometheus servers) share one refresh.
   */
  refreshSharedState(): Promise<void> {
    this.inFlight ??= this.readSharedState().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async readSharedState(): Promise<void> {
    const pools = [...this.pools];
    let snapshots: (PoolSnapshot | null)[];
    let offsetMs: number;
    try {
      [offsetMs, snapshots] = await withTimeout(
        Promise.all([this.clockOffsetMs(), Promise.all(pools.map(async (pool) => this.store.snapshot(pool).then((r) => (r.ok ? r.value : null))))]),
        SCRAPE_STORE_TIMEOUT_MS,
      );
    } catch (e) {
      // Unknown shared state is reported as absent, not as stale figures; broker_store_up says why.
      this.log.warn(`shared-state gauges not refreshed: ${(e as Error).message}`);
      this.scrapeErrors.inc({});
      this.resetSharedGauges();
      this.storeUp.set({}, 0);
      return;
    }
    this.resetSharedGauges();
    this.storeUp.set({}, 1);
    this.storeClockOffset.set({ store: this.store.kind }, offsetMs / 1000);
    const replicas = this.store.replicas?.() ?? null;
    if (replicas) {
      this.storeReplicas.set({ state: 'known' }, replicas.known);
      this.storeReplicas.set({ state: 'down' }, replicas.down);
    }
    for (const s of snapshots) if (s) this.setPool(s);
  }

  /** Store time minus this process's clock at the middle of the round trip that read it. */
  private async clockOffsetMs(): Promise<number> {
    const sent = Date.now();
    const storeTime = await this.store.now();
    return storeTime - (sent + Date.now()) / 2;
  }

  private setPool(s: PoolSnapshot): void {
    const pool = s.id;
    const configured = s.members.reduce((sum, m) => sum + m.maxSessions, 0);
    this.poolCapacity.set({ pool, kind: s.kind }, s.capacity);
    this.poolConfiguredCapacity.set({ pool, kind: s.kind }, s.licenceLimit === null ? configured : Math.min(configured, s.licenceLimit));
    this.poolActive.set({ pool }, s.active);
    this.poolFree.set({ pool }, s.free);
    this.poolUtilisation.set({ pool }, s.capacity > 0 ? s.active / s.capacity : 1);
    // `?? 0`: a store of a release before the waiting room reports no figure.
    this.poolWaiting.set({ pool }, s.waiting ?? 0);
    this.poolOffered.set({ pool }, s.offered ?? 0);
    for (const m of s.members) {
      const member = this.member(pool, m.id);
      this.memberCapacity.set({ pool, member }, m.maxSessions);
      this.memberActive.set({ pool, member }, m.active);
      for (const state of memberStates) this.memberState.set({ pool, member, state }, m.state === state ? 1 : 0);
    }
    for (const a of s.agencies) {
      const agency = this.agency(a.id);
      this.agencyActive.set({ pool, agency }, a.active);
      this.agencyGuaranteed.set({ pool, agency }, a.guaranteed);
      this.agencyMaximum.set({ pool, agency }, a.maximum);
    }
  }

  private resetSharedGauges(): void {
    for (const g of [
      this.poolCapacity,
      this.poolConfiguredCapacity,
      this.poolActive,
      this.poolFree,
      this.poolUtilisation,
      this.poolWaiting,
      this.poolOffered,
      this.memberCapacity,
      this.memberActive,
      this.memberState,
      this.agencyActive,
      this.agencyGuaranteed,
      this.agencyMaximum,
      this.storeReplicas,
      this.storeClockOffset,
    ]) {
      g.reset();
    }
  }

  /**
   * Counters start at 0 for every configured pool/agency pair, so `rate()` and
   * the alert rules see the first refusal as an increase, and dashboards find
   * the series before any traffic.
   */
  private initialiseCounters(): void {
    const cfg = this.config.get().broker;
    for (const p of cfg.pools) {
      this.releases.inc({ pool: p.id }, 0);
      this.renewals.inc({ pool: p.id }, 0);
      for (const outcome of [...grantOutcomes, 'refused']) this.admission.zero({ pool: p.id, outcome });
      for (const m of p.members) this.expiries.inc({ pool: p.id, member: m.id }, 0);
      for (const a of cfg.agencies.filter((x) => x.pools[p.id] !== undefined)) {
        for (const outcome of grantOutcomes) this.grants.inc({ pool: p.id, agency: a.id, outcome }, 0);
        for (const reason of refusalCodes) this.refusals.inc({ pool: p.id, agency: a.id, reason }, 0);
      }
    }
    this.scrapeErrors.inc({}, 0);
    this.writesUnconfirmed.inc({}, 0);
  }

  private pool(id: string): string {
    return this.pools.has(id) ? id : OTHER_LABEL;
  }

  private agency(id: string): string {
    return this.agencies.has(id) ? id : OTHER_LABEL;
  }

  private member(pool: string, id: string): string {
    return this.members.get(pool)?.has(id) ? id : OTHER_LABEL;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`store did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
