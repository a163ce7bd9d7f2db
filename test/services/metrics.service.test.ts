import type { Grant } from '../../src/domain/grant';
import { brokerConfigSchema, type BrokerConfigInput } from '../../src/config/broker-config.schema';
import type { AppConfig } from '../../src/config/config.loader';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { MetricsRepository } from '../../src/repositories/metrics.repository';
import { PubSubRepository } from '../../src/repositories/pubsub.repository';
import { BrokerEvents } from '../../src/services/broker-events';
import { LiveUpdatesService } from '../../src/services/live-updates.service';
import { MetricsService } from '../../src/services/metrics.service';

const input: BrokerConfigInput = {
  pools: [
    {
      id: 'vpn',
      kind: 'vpn',
      members: [
        { id: 'gw-1', maxSessions: 4 },
        { id: 'gw-2', maxSessions: 4, state: 'drain' },
      ],
    },
  ],
  agencies: [
    { id: 'justice', pools: { vpn: { guaranteed: 1, maximum: 3 } } },
    { id: 'interior', pools: { vpn: { guaranteed: 0, maximum: 4 } } },
  ],
};

async function setUp() {
  const broker = brokerConfigSchema.parse(input);
  const config = new ConfigRepository({ broker } as AppConfig);
  const store = new MemoryLeaseStore({ reapBatch: 100, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000 });
  await store.syncPools(poolSpecsFromConfig(broker));
  const events = new BrokerEvents();
  const repo = new MetricsRepository();
  const live = new LiveUpdatesService(new PubSubRepository(config));
  const service = new MetricsService(repo, events, config, store, live);
  service.onModuleInit();
  return { store, events, repo, service };
}

const grant = (member: string, agency: string): Grant => ({
  id: 'vpn.aaaaaaaaaaaaaaaa',
  pool: 'vpn',
  member,
  agency,
  owner: 'pseudonym',
  clientId: 'c',
  fencingToken: 1,
  createdAt: 0,
  expiresAt: 60_000,
  ttlMs: 60_000,
});

const values = async (repo: MetricsRepository, name: string) =>
  Object.fromEntries((await repo.value(name)).map((s) => [JSON.stringify(s.labels), s.value]));

describe('MetricsService', () => {
  it('gauges of shared state come from one store snapshot per pool at scrape time', async () => {
    const { store, repo, service } = await setUp();
    await store.grant({ pool: 'vpn', owner: 'o1', agency: 'justice', clientId: 'c', newGrantId: 'vpn.aaaaaaaaaaaaaaaa' });
    await store.grant({ pool: 'vpn', owner: 'o2', agency: 'interior', clientId: 'c', newGrantId: 'vpn.bbbbbbbbbbbbbbbb' });
    const { body, contentType } = await service.scrape();
    expect(contentType).toMatch(/^text\/plain; version=0.0.4/);
    expect(body).toContain('broker_pool_active_sessions{pool="vpn"} 2');
    // gw-2 drains: only gw-1 is capacity
    expect(body).toContain('broker_pool_capacity_sessions{pool="vpn",kind="vpn"} 4');
    expect(body).toContain('broker_pool_configured_capacity_sessions{pool="vpn",kind="vpn"} 8');
    expect(body).toContain('broker_pool_utilisation_ratio{pool="vpn"} 0.5');
    expect(body).toContain('broker_pool_waiting_sessions{pool="vpn"} 0');
    expect(body).toContain('broker_store_up 1');
    expect(await values(repo, 'broker_member_state')).toMatchObject({
      '{"pool":"vpn","member":"gw-1","state":"active"}': 1,
      '{"pool":"vpn","member":"gw-1","state":"drain"}': 0,
      '{"pool":"vpn","member":"gw-2","state":"drain"}': 1,
    });
    expect(await values(repo, 'broker_agency_active_sessions')).toEqual({
      '{"pool":"vpn","agency":"justice"}': 1,
      '{"pool":"vpn","agency":"interior"}': 1,
    });
    expect(await values(repo, 'broker_agency_guaranteed_sessions')).toMatchObject({ '{"pool":"vpn","agency":"justice"}': 1 });
    expect(await values(repo, 'broker_agency_maximum_sessions')).toMatchObject({ '{"pool":"vpn","agency":"interior"}': 4 });
  });

  it('reads each pool once per scrape, and concurrent scrapes share one read', async () => {
    const { store, service } = await setUp();
    const snapshot = jest.spyOn(store, 'snapshot');
    await Promise.all([service.scrape(), service.scrape()]);
    expect(snapshot).toHaveBeenCalledTimes(1);
  });

  it("the waiting line and open offers come from the store's snapshot", async () => {
    const { store, repo, service } = await setUp();
    const real = store.snapshot.bind(store);
    // The store's own figures (the waiting room keeps them there), whatever replica reads them.
    jest.spyOn(store, 'snapshot').mockImplementation(async (pool) => {
      const r = await real(pool);
      return r.ok ? { ok: true, value: { ...r.value, waiting: 17, offered: 2 } } : r;
    });
    await service.refreshSharedState();
    expect(await values(repo, 'broker_pool_waiting_sessions')).toEqual({ '{"pool":"vpn"}': 17 });
    expect(await values(repo, 'broker_pool_offered_sessions')).toEqual({ '{"pool":"vpn"}': 2 });
  });

  it('with the store unreachable: broker_store_up 0 and no stale shared-state figures', async () => {
    let down = false;
    const { store, repo, service } = await setUp();
    const real = store.snapshot.bind(store);
    store.snapshot = async (pool) => {
      if (down) throw new Error('ECONNREFUSED');
      return real(pool);
    };
    await service.refreshSharedState();
    expect(await values(repo, 'broker_pool_active_sessions')).toEqual({ '{"pool":"vpn"}': 0 });
    down = true;
    const { body } = await service.scrape();
    expect(body).toContain('broker_store_up 0');
    expect(await repo.value('broker_pool_active_sessions')).toEqual([]);
    expect(body).toContain('broker_scrape_store_errors_total 1');
  });

  it('counts events by pool, agency, outcome and reason; unknown label values become "other"', async () => {
    const { events, repo } = await setUp();
    events.emit('granted', { pool: 'vpn', agency: 'justice', member: 'gw-1', outcome: 'created', durationMs: 3, grant: grant('gw-1', 'justice') });
    events.emit('refused', { pool: 'vpn', agency: 'justice', code: 'pool-full', durationMs: 1 });
    events.emit('refused', { pool: 'vpn', agency: 'made-up-by-a-token', code: 'not-entitled', durationMs: 1 });
    events.emit('released', { pool: 'vpn', agency: 'justice', member: 'gw-1', grant: grant('gw-1', 'justice') });
    events.emit('expired', { pool: 'vpn', agency: 'justice', member: 'gw-9', id: 'vpn.bbbbbbbbbbbbbbbb', owner: 'pseudonym' });
    events.emit('renewed', { pool: 'vpn', member: 'gw-1', count: 5 });
    events.emit('storeCall', { operation: 'grant', durationMs: 0.7, ok: true, unconfirmed: false });
    events.emit('storeCall', { operation: 'grant', durationMs: 2000, ok: false, unconfirmed: false });
    events.emit('storeCall', { operation: 'release', durationMs: 100, ok: false, unconfirmed: true });

    const grants = await values(repo, 'broker_grants_total');
    expect(grants['{"pool":"vpn","agency":"justice","outcome":"created"}']).toBe(1);
    expect(grants['{"pool":"vpn","agency":"interior","outcome":"created"}']).toBe(0);
    const refusals = await values(repo, 'broker_refusals_total');
    expect(refusals['{"pool":"vpn","agency":"justice","reason":"pool-full"}']).toBe(1);
    expect(refusals['{"pool":"vpn","agency":"other","reason":"not-entitled"}']).toBe(1);
    expect(await values(repo, 'broker_releases_total')).toEqual({ '{"pool":"vpn"}': 1 });
    expect((await values(repo, 'broker_expiries_total'))['{"pool":"vpn","member":"other"}']).toBe(1);
    expect(await values(repo, 'broker_renewals_total')).toEqual({ '{"pool":"vpn"}': 5 });
    expect(await values(repo, 'broker_store_operation_errors_total')).toEqual({ '{"operation":"grant"}': 1, '{"operation":"release"}': 1 });
    // Of the two failures, one was a write the replicas did not confirm.
    expect(await values(repo, 'broker_store_writes_unconfirmed_total')).toEqual({ '{}': 1 });

    const admission = await repo.value('broker_admission_duration_seconds');
    const count = (outcome: string) =>
      admission.find((s) => s.metricName === 'broker_admission_duration_seconds_count' && s.labels.outcome === outcome)?.value;
    expect(count('created')).toBe(1);
    expect(count('refused')).toBe(2);
    expect(count('replayed')).toBe(0);
  });

  it('reports the replicas every write must reach and how many are down, where the store knows them', async () => {
    const { store, service, repo } = await setUp();
    await service.scrape();
    expect(await values(repo, 'broker_store_replicas')).toEqual({}); // the embedded store has none
    let set = { known: 2, down: 1 };
    Object.assign(store, { replicas: () => set });
    await service.scrape();
    expect(await values(repo, 'broker_store_replicas')).toEqual({ '{"state":"known"}': 2, '{"state":"down"}': 1 });
    set = { known: 1, down: 0 }; // SENTINEL RESET forgot the one that was down
    await service.scrape();
    expect(await values(repo, 'broker_store_replicas')).toEqual({ '{"state":"known"}': 1, '{"state":"down"}': 0 });
    expect(await values(repo, 'broker_store_writes_unconfirmed_total')).toEqual({ '{}': 0 });
  });

  it("reports the store's clock against this replica's, and nothing once the store does not answer", async () => {
    const { store, service, repo } = await setUp();
    await service.scrape();
    const offset = async () => (await values(repo, 'broker_store_clock_offset_seconds'))['{"store":"memory"}'];
    expect(Math.abs((await offset())!)).toBeLessThan(0.05); // the embedded store's clock is this process's
    Object.assign(store, { now: async () => Date.now() + 90_000 }); // a store 90 s ahead
    await service.scrape();
    expect(await offset()).toBeCloseTo(90, 1);
    Object.assign(store, { now: async () => Date.now() - 2_500 });
    await service.scrape();
    expect(await offset()).toBeCloseTo(-2.5, 1);
    Object.assign(store, { now: () => Promise.reject(new Error('ECONNREFUSED')) });
    await service.scrape();
    expect(await offset()).toBeUndefined();
  });

  it('pool, member and agency labels only ever carry configured ids or "other"', async () => {
    const { events, service } = await setUp();
    events.emit('granted', { pool: 'vpn', agency: 'employee-42@example.org', member: 'gw-1', outcome: 'created', durationMs: 3, grant: grant('gw-1', 'x') });
    events.emit('refused', { pool: 'no-such-pool', agency: 'justice', code: 'pool-full', durationMs: 1 });
    const { body } = await service.scrape();
    expect(body).not.toContain('employee-42');
    const seen = new Set([...body.matchAll(/\b(?:pool|member|agency)="([^"]*)"/g)].map((m) => m[1]));
    expect([...seen].sort()).toEqual(['gw-1', 'gw-2', 'interior', 'justice', 'other', 'vpn']);
  });
});
