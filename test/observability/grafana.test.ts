import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify, parse as parseYaml } from 'yaml';
import { SweeperService } from '../../src/services/sweeper.service';
import { api, PORTS, repoRoot, scrape, scrapedNames, startBroker, type RunningBroker } from './support/broker';
import { dashboardQueries, dashboards, metricNames, panels, promtool, ruleQueries, summedSharedGauges, SYNTHETIC_SERIES, withoutGrafanaVariables } from './support/tools';

describe('Grafana dashboards and provisioning', () => {
  const all = dashboards();

  it('has the capacity overview and the load-test dashboard', () => {
    expect(all.map((d) => d.json.uid).sort()).toEqual(['telework-broker-capacity', 'telework-broker-load']);
  });

  it.each(all.map((d) => [d.file, d] as const))('%s is a well-formed dashboard', (_file, d) => {
    const json = d.json;
    expect(json.title).toMatch(/^Telework broker/);
    expect(json.schemaVersion).toBeGreaterThanOrEqual(36);
    const ps = panels(d);
    const ids = ps.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of ps) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets.length).toBeGreaterThan(0);
      const refIds = p.targets.map((t: { refId: string }) => t.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
    const vars = json.templating.list.map((v: { name: string }) => v.name);
    expect(vars).toEqual(expect.arrayContaining(['datasource', 'pool']));
  });

  it('shows what operations asked for: the 60,000 line, utilisation per pool and agency, refusals, waiting line, latency quantiles', () => {
    const capacity = all.find((d) => d.json.uid === 'telework-broker-capacity')!;
    const exprs = panels(capacity).flatMap((p) => (p.targets ?? []).map((t: { expr: string }) => `${p.title} :: ${t.expr}`));
    const has = (re: RegExp) => expect(exprs.some((e) => re.test(e))).toBe(true);
    has(/vector\(60000\)/);
    has(/Utilisation per pool :: .*broker_pool_utilisation_ratio/);
    has(/Agency .*broker_agency_active_sessions.*broker_agency_maximum_sessions/);
    has(/Refusals by reason :: sum by \(reason\) \(rate\(broker_refusals_total/);
    has(/Waiting line :: .*broker_pool_waiting_sessions/);
    has(/Waiting line :: .*broker_pool_offered_sessions/);
    has(/Circuit-breaker transitions :: .*broker_member_breaker_transitions_total/);
    for (const q of ['0.5', '0.95', '0.99']) has(new RegExp(`p50 / p95 / p99 :: histogram_quantile\\(${q.replace('.', '\\.')}, .*broker_admission_duration_seconds_bucket`));
  });

  it('never sums a shared-state gauge directly (every replica reports it: max first, then sum over pools)', () => {
    const bad = [...dashboardQueries(), ...ruleQueries()].filter((q) => summedSharedGauges(q.expr).length > 0).map((q) => `${q.dashboard} / ${q.panel}`);
    expect(bad).toEqual([]);
    expect(summedSharedGauges('sum(broker_pool_active_sessions)')).toEqual(['broker_pool_active_sessions']);
    expect(summedSharedGauges('sum(max by (pool) (broker_pool_active_sessions))')).toEqual([]);
  });

  it('every dashboard and rule expression is valid PromQL for Prometheus itself (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dash-promql-'));
    try {
      const rules = [...dashboardQueries(), ...ruleQueries()].map((q, i) => ({ record: `check:expr_${i}`, expr: withoutGrafanaVariables(q.expr) }));
      const file = join(dir, 'exprs.rules.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard-expressions', rules }] }));
      const r = promtool(['check', 'rules', file]);
      expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('provisions a Prometheus datasource with the uid the dashboards default to, and a file provider for the dashboards', () => {
    const ds = parseYaml(readFileSync(join(repoRoot, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'));
    expect(ds.apiVersion).toBe(1);
    expect(ds.datasources).toEqual([expect.objectContaining({ type: 'prometheus', uid: 'prometheus', access: 'proxy' })]);
    for (const d of all) expect(d.json.templating.list.find((v: { name: string }) => v.name === 'datasource').current.value).toBe('prometheus');
    const prov = parseYaml(readFileSync(join(repoRoot, 'grafana/provisioning/dashboards/telework-broker.yml'), 'utf8'));
    expect(prov.apiVersion).toBe(1);
    expect(prov.providers).toEqual([expect.objectContaining({ type: 'file', options: expect.objectContaining({ path: expect.stringMatching(/^\//) }) })]);
  });
});

describe.each([
  ['embedded store', false, PORTS.scrape],
  ['redis store', true, PORTS.scrapeRedis],
] as const)('every metric the dashboards and alerts query is in a real scrape (%s)', (_name, redis, port) => {
  let b: RunningBroker;
  let names: Set<string>;

  beforeAll(async () => {
    // The small model with the circuit breaker on (threshold 2), so its counter can be made to appear.
    b = await startBroker({ port, redis, file: 'operations.yaml' });
    // Traffic of every kind, so every series exists: grants, a refusal, a release, a heartbeat, an expiry, a breaker trip.
    const t1 = await b.token({ sub: 'e-1', agency: 'alpha' });
    const t2 = await b.token({ sub: 'e-2', agency: 'beta' });
    const g = await api(b.url, t1, 'POST', '/v1/grants', { pool: 'vpn-a' });
    expect(g.status).toBe(201);
    await api(b.url, t1, 'POST', `/v1/grants/${g.json.id}/heartbeat`);
    expect((await api(b.url, t2, 'POST', '/v1/grants', { pool: 'vdi-b' })).status).toBe(403);
    await api(b.url, t1, 'DELETE', `/v1/grants/${g.json.id}`);
    await b.app.get(SweeperService).sweep();
    for (const sub of ['noc-1', 'noc-2']) {
      const operator = await b.token({ sub, agency: 'alpha', roles: ['operator'] });
      expect((await api(b.url, operator, 'POST', '/v1/pools/vpn-a/members/gw-2/failures', { kind: 'connect' })).status).toBe(200);
    }
    names = scrapedNames((await scrape(b.url)).body);
    expect(names.has('broker_member_breaker_transitions_total')).toBe(true);
  });

  afterAll(async () => {
    await b?.close();
  });

  it('finds every metric of every panel and variable', () => {
    const missing = dashboardQueries().flatMap((q) =>
      metricNames(q.expr)
        .filter((n) => !SYNTHETIC_SERIES.has(n) && !names.has(n))
        .map((n) => `${q.dashboard} / ${q.panel}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it('finds every metric of every alert rule', () => {
    const missing = ruleQueries().flatMap((q) => metricNames(q.expr).filter((n) => !SYNTHETIC_SERIES.has(n) && !names.has(n)).map((n) => `${q.panel}: ${n}`));
    expect(missing).toEqual([]);
  });

  it('the check itself notices a metric that does not exist', () => {
    expect(metricNames('sum(rate(broker_no_such_metric_total[$__rate_interval]))').filter((n) => !names.has(n))).toEqual(['broker_no_such_metric_total']);
  });
});
