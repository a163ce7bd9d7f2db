import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '../..');
const tsx = join(repo, 'node_modules/.bin/tsx');
const run = (script: string, args: string[]) => spawnSync(tsx, [join(repo, script), ...args], { cwd: repo, encoding: 'utf8', timeout: 120_000 });

describe('npm run plan / plan:compare', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'plan-cli-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the report, the series and the replay schedule, and says what it recommends', () => {
    const out = join(dir, 'out');
    const r = run('src/cli/plan.cli.ts', ['test/planning/fixtures/small.yaml', '--out', out, '--replications', '3', '--replay-day', '2']);
    expect(r.stderr).not.toMatch(/Error|WARN/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/vpn: Today's 600 refuse .* The smallest capacity that meets the target is [\d,]+ sessions: \d+ members of 100 each \([\d,]+ installed\)/);
    for (const f of ['report.html', 'report.md', 'charts/vpn-concurrency.svg', 'concurrency.csv', 'refusals.csv', 'peaks.csv', 'requests.csv', 'recommendations.csv', 'replay-schedule.json']) {
      expect([f, existsSync(join(out, f))]).toEqual([f, true]);
    }
    const schedule = JSON.parse(readFileSync(join(out, 'replay-schedule.json'), 'utf8'));
    expect(schedule).toMatchObject({ format: 'telework-broker-replay-schedule/1', day: 2, replications: 3 });
    expect(r.stdout).toContain(`npm run loadtest:prepare -- --pool vpn --count ${schedule.pools[0].employees}`);
  });

  it('refuses an invalid scenario with the file, the field and the reason, and exit code 2', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(resolve(__dirname, 'fixtures/small.yaml'), 'utf8').replace('teleworkShare: 0.6', 'teleworkShare: 6'));
    const r = run('src/cli/plan.cli.ts', [bad, '--out', join(dir, 'never')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`invalid configuration in ${bad}`);
    expect(r.stderr).toContain('agencies[0].teleworkShare: must be between 0 and 1');
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('compare says what is wrong with its inputs', () => {
    const schedule = join(dir, 'schedule.json');
    const result = join(dir, 'result.json');
    writeFileSync(schedule, JSON.stringify({ format: 'telework-broker-replay-schedule/1', pools: [] }));
    writeFileSync(result, JSON.stringify({ format: 'something else' }));
    const r = run('src/cli/plan-compare.cli.ts', [schedule, result]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`${result}: format: must be "telework-broker-replay-result/1"`);
    expect(run('src/cli/plan-compare.cli.ts', [schedule]).status).toBe(2);
  });
});
