import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config.loader';
import { loadScenario } from '../planning/scenario.loader';
import { runPlan } from '../planning/planner';
import { renderReport, verdicts } from '../planning/report/report';
import { buildReplaySchedule, DEFAULT_SCHEDULE_OPTIONS } from '../planning/replay/replay-schedule';

const usage = `usage: npm run plan -- <scenario.yaml> [--out <dir>] [--seed <n>] [--replications <n>]
                     [--replay-day <n>] [--replay-variant today|growth] [--compress <n>]

Simulates the scenario's workday (seeded, many replications), sizes each pool for the target
share of refused requests, with and without the growth factor, and writes into <dir>
(default plan-output/<scenario name>/):

  report.html            self-contained report: charts first, then the recommendation
  report.md, charts/     the same in Markdown, with the charts as SVG files
  *.csv                  the series behind the charts
  replay-schedule.json   one simulated day for load-tests/replay-plan.js (k6)

--replay-day picks the simulated day to export (1 = the first, default), --replay-variant
today (default) or growth, --compress the suggested time compression of the replay (${DEFAULT_SCHEDULE_OPTIONS.compress}).`;

function wholeNumber(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}, not "${text}"`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  let args;
  let file: string;
  let seed: number | undefined;
  let replications: number | undefined;
  let replayDay: number;
  let compress: number;
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        seed: { type: 'string' },
        replications: { type: 'string' },
        'replay-day': { type: 'string', default: '1' },
        'replay-variant': { type: 'string', default: 'today' },
        compress: { type: 'string', default: String(DEFAULT_SCHEDULE_OPTIONS.compress) },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    args = parsed.values;
    if (args.help) {
      process.stdout.write(usage + '\n');
      return 0;
    }
    if (parsed.positionals.length !== 1) throw new Error('name one scenario file');
    file = parsed.positionals[0]!;
    seed = wholeNumber('seed', args.seed, 0);
    replications = wholeNumber('replications', args.replications, 1);
    replayDay = wholeNumber('replay-day', args['replay-day'], 1)!;
    compress = wholeNumber('compress', args.compress, 1)!;
    if (args['replay-variant'] !== 'today' && args['replay-variant'] !== 'growth') throw new Error('--replay-variant must be today or growth');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }

  let scenario;
  try {
    scenario = loadScenario(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`plan: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const out = resolve(args.out ?? join('plan-output', scenario.name));
  const started = performance.now();
  const plan = runPlan(scenario, {
    ...(seed !== undefined ? { seed } : {}),
    ...(replications !== undefined ? { replications } : {}),
    progress: (line) => process.stderr.write(`  ${line}\n`),
  });
  const simulated = performance.now();
  if (replayDay > plan.replications) {
    process.stderr.write(`--replay-day ${replayDay}: only ${plan.replications} days were simulated\n`);
    return 2;
  }
  if (args['replay-variant'] === 'growth' && scenario.growthFactor === 1) {
    process.stderr.write('--replay-variant growth: the scenario has no growth factor\n');
    return 2;
  }
  const files = await renderReport(plan, { scenarioFile: relative(process.cwd(), resolve(file)) || file });
  const schedule = buildReplaySchedule(plan, { replication: replayDay - 1, variant: args['replay-variant'] as 'today' | 'growth', compress });
  files.set('replay-schedule.json', JSON.stringify(schedule) + '\n');
  for (const [name, content] of files) {
    const target = join(out, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }

  const rel = relative(process.cwd(), out) || '.';
  process.stdout.write(
    `\n${verdicts(plan)
      .map((v) => `${v.pool}: ${v.text}`)
      .join('\n\n')}\n\n` +
      `Simulated ${plan.replications} days × ${plan.pools.length} pools${scenario.growthFactor !== 1 ? ' × 2 variants' : ''} in ${((simulated - started) / 1000).toFixed(1)} s (seed ${plan.seed}).\n` +
      `Report: ${join(rel, 'report.html')} (and report.md, charts/, *.csv)\n` +
      `Replay of day ${schedule.day} (${schedule.variant}): ${join(rel, 'replay-schedule.json')}; tokens for it:\n` +
      schedule.pools.map((p) => `  npm run loadtest:prepare -- --pool ${p.id} --count ${p.employees} --out load-tests/.data/replay-tokens-${p.id}.json\n`).join('') +
      `  then: k6 run -e SCHEDULE=${relative(resolve('load-tests'), join(out, 'replay-schedule.json'))} load-tests/replay-plan.js\n`,
  );
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`plan: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
