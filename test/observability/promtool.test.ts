import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, PORTS, scrape, startBroker, type RunningBroker } from './support/broker';
import { promtool } from './support/tools';

const RULES = 'grafana/alerts/broker.rules.yml';
const TESTS_DIR = 'grafana/alerts/tests';

describe('alert rules, checked by the real promtool', () => {
  it('promtool check rules accepts the rule file', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  it('promtool test rules passes every unit test', () => {
    const files = readdirSync(TESTS_DIR).filter((f) => f.endsWith('.yml'));
    expect(files.length).toBeGreaterThan(0);
    const r = promtool(['test', 'rules', ...files.map((f) => join(TESTS_DIR, f))]);
    expect(r.out).toContain('SUCCESS');
    expect(r.out).not.toContain('FAILED');
    expect(r.code).toBe(0);
  });

  it('every alert has a unit test that expects it to fire', () => {
    const rules = readFileSync(RULES, 'utf8');
    const alerts = [...rules.matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1]);
    const tests = readdirSync(TESTS_DIR).map((f) => readFileSync(join(TESTS_DIR, f), 'utf8')).join('\n');
    const fired = new Set([...tests.matchAll(/alertname: (\w+)\n\s*exp_alerts:\n\s*- exp_labels/g)].map((m) => m[1]));
    expect(alerts.filter((a) => !fired.has(a))).toEqual([]);
  });

  it('promtool test rules notices a wrong expectation (the tests can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-test-'));
    try {
      // The pool is above 90 % from minute 2: at minute 4 the 5-minute hold has not passed, so this must fail.
      const file = join(dir, 'wrong.test.yml');
      writeFileSync(
        file,
        [
          'rule_files:',
          `  - ${join(process.cwd(), RULES)}`,
          'tests:',
          '  - interval: 1m',
          '    input_series:',
          `      - series: 'broker_pool_utilisation_ratio{pool="p"}'`,
          `        values: '0.5 0.5 0.95x10'`,
          '    alert_rule_test:',
          '      - eval_time: 4m',
          '        alertname: BrokerPoolNearlyFull',
          '        exp_alerts:',
          '          - exp_labels: { pool: p, severity: page }',
        ].join('\n'),
      );
      const r = promtool(['test', 'rules', file]);
      expect(r.out).toContain('FAILED');
      expect(r.code).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each([
  ['embedded store', false, PORTS.promtool],
  ['redis store', true, PORTS.promtoolRedis],
] as const)('promtool check metrics on a real scrape (%s)', (_name, redis, port) => {
  let b: RunningBroker;

  beforeAll(async () => {
    b = await startBroker({ port, redis });
  });

  afterAll(async () => {
    await b?.close();
  });

  it('finds no problem in the exposition, with traffic', async () => {
    const token = await b.token({ sub: 'e-1', agency: 'alpha' });
    expect((await api(b.url, token, 'POST', '/v1/grants', { pool: 'vpn-a' })).status).toBe(201);
    const { body, contentType } = await scrape(b.url);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('broker_pool_active_sessions{pool="vpn-a"} 1');
    const r = promtool(['check', 'metrics'], body);
    expect(r.out.trim()).toBe('');
    expect(r.code).toBe(0);
  });

  it('promtool check metrics does find problems in a bad exposition', () => {
    const r = promtool(['check', 'metrics'], '# HELP x_total a gauge named like a counter\n# TYPE x_total gauge\nx_total 1\n');
    expect(r.code).not.toBe(0);
  });
});
