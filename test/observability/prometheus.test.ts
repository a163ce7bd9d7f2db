import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml, stringify } from 'yaml';
import { api, repoRoot, startBroker, type RunningBroker } from './support/broker';
import { dashboardQueries, ruleQueries, type PanelQuery } from './support/tools';

/**
 * The shipped Prometheus configuration (deploy/prometheus/prometheus.yml) on a real Prometheus server
 * (Debian's `prometheus`), scraping a broker under a little load; then every dashboard panel and
 * variable expression and every alert expression, through Prometheus' HTTP API, must return data.
 * Ports of this suite: broker 23081, Prometheus 23090.
 */
const BROKER_PORT = 23081;
const PROM_PORT = 23090;
const PROM = `http://127.0.0.1:${PROM_PORT}`;

/**
 * An expression as it can answer right after start-up, with the same metrics, labels and joins:
 * Grafana's variables filled in (all pools), comparisons with `bool` (an alert that does not fire still
 * answers 0), absent(x) as x (the broker is up), and offsets of minutes as 5 s (Prometheus has run for
 * a minute, not ten).
 */
export function answerable(expr: string): string {
  let src = expr
    .replace(/\$__rate_interval|\$__interval/g, '30s')
    .replace(/\$__range/g, '1m')
    .replace(/\$\{?pool\}?/g, '.*')
    .replace(/offset \d+m/g, 'offset 5s')
    .replace(/\babsent\((.*)\)/s, '$1');
  const inserts: number[] = [];
  parser.parse(src).iterate({
    enter(node) {
      if (node.name !== 'BinaryExpr') return;
      const op = node.node.getChild('Gtr') ?? node.node.getChild('Lss') ?? node.node.getChild('Gte') ?? node.node.getChild('Lte') ?? node.node.getChild('Eql') ?? node.node.getChild('Neq');
      if (op && !node.node.getChild('BoolModifier')) inserts.push(op.to);
    },
  });
  for (const at of inserts.sort((a, b) => b - a)) src = `${src.slice(0, at)} bool${src.slice(at)}`;
  return src;
}

async function query(expr: string): Promise<{ status: string; result: unknown[]; error?: string }> {
  const res = await fetch(`${PROM}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
  const body = (await res.json()) as { status: string; data?: { result: unknown[] }; error?: string };
  return { status: body.status, result: body.data?.result ?? [], ...(body.error ? { error: body.error } : {}) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dashboards and alerts on a real Prometheus scraping a broker', () => {
  let b: RunningBroker;
  let prometheus: ChildProcess;
  let dir: string;
  let log = '';

  beforeAll(async () => {
    // The small model with the circuit breaker on (threshold 2), so a trip can be made.
    b = await startBroker({ port: BROKER_PORT, file: 'operations.yaml' });
    dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
    // The shipped configuration, pointed at this broker, scraping every second instead of every 15 s.
    const shipped = parseYaml(readFileSync(join(repoRoot, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'));
    shipped.global.scrape_interval = '1s';
    shipped.global.evaluation_interval = '1s';
    shipped.rule_files = shipped.rule_files.map((f: string) => join(repoRoot, 'deploy', 'prometheus', f));
    shipped.scrape_configs[0].static_configs = [{ targets: [`127.0.0.1:${BROKER_PORT}`] }];
    writeFileSync(join(dir, 'prometheus.yml'), stringify(shipped));
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${PROM_PORT}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    prometheus.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    prometheus.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    prometheus.on('error', (e) => (log += `could not start prometheus (apt-get install prometheus): ${e.message}\n`));
    for (;;) {
      if (prometheus.exitCode !== null || /could not start/.test(log)) throw new Error(`prometheus stopped:\n${log.slice(-3000)}`);
      try {
        if ((await fetch(`${PROM}/-/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
  }, 120_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every panel, variable and alert expression returns data', async () => {
    // A little load of every kind, spread over several scrapes: grants, heartbeats, releases, a full
    // pool's refusals, someone waiting, an expiry and a circuit-breaker trip.
    const employees = await Promise.all(['e-1', 'e-2', 'e-3', 'e-4', 'e-5', 'e-6', 'e-7'].map((sub, i) => b.token({ sub, agency: i % 2 ? 'beta' : 'alpha' })));
    for (let round = 0; round < 3; round++) {
      const ids: string[] = [];
      for (const t of employees) {
        const g = await api(b.url, t, 'POST', '/v1/grants', { pool: 'vpn-a' });
        if (g.status === 201) ids.push(g.json.id);
        await api(b.url, t, 'POST', '/v1/grants', { pool: 'vdi-b' });
      }
      for (const [i, id] of ids.entries()) await api(b.url, employees[i]!, 'POST', `/v1/grants/${id}/heartbeat`);
      await sleep(1500);
      for (const [i, id] of ids.entries()) await api(b.url, employees[i]!, 'DELETE', `/v1/grants/${id}`);
    }
    for (const sub of ['noc-1', 'noc-2']) {
      const operator = await b.token({ sub, agency: 'alpha', roles: ['operator'] });
      expect((await api(b.url, operator, 'POST', '/v1/pools/vpn-a/members/gw-2/failures', { kind: 'connect' })).status).toBe(200);
    }

    const all: PanelQuery[] = [...dashboardQueries(), ...ruleQueries()];
    const empty = async () => {
      const missing: string[] = [];
      for (const q of all) {
        const r = await query(answerable(q.expr));
        if (r.status !== 'success') missing.push(`${q.dashboard} / ${q.panel}: ${r.error}`);
        else if (r.result.length === 0) missing.push(`${q.dashboard} / ${q.panel}: no data for ${answerable(q.expr).replace(/\s+/g, ' ')}`);
      }
      return missing;
    };
    // Rates need two scrapes after the load: wait until the last scrape has seen it, then ask.
    let missing = await empty();
    for (let i = 0; i < 20 && missing.length > 0; i++) {
      await sleep(1000);
      missing = await empty();
    }
    expect(missing).toEqual([]);
    expect((await query('up{job="telework-broker"} == 1')).result).toHaveLength(1);
  }, 120_000);

  it('the expressions as asked are the shipped ones, answerable only as said (bool, absent, offsets)', () => {
    expect(answerable('max by (pool) (broker_pool_utilisation_ratio{pool=~"$pool"}) > 0.9')).toBe('max by (pool) (broker_pool_utilisation_ratio{pool=~".*"}) > bool 0.9');
    expect(answerable('absent(up{job="telework-broker"})')).toBe('up{job="telework-broker"}');
    expect(answerable('x unless x offset 10m')).toBe('x unless x offset 5s');
    expect(answerable('broker_store_up == 0')).toBe('broker_store_up == bool 0');
  });
});
