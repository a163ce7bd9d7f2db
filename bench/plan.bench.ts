/**
 * npm run bench:plan — how long capacity planning takes for a full workday of 100,000 employees.
 *
 * The shipped scenario (scenarios/statenet-60k.yaml: two pools, the growth variant, retries,
 * day-to-day variation) with every agency's headcount scaled so that they add up to 100,000,
 * 20 replications. It times what `npm run plan` does: the simulation of every pool and variant
 * including the search for the recommended capacity (several loss simulations per replication),
 * then, separately, rendering the report. A figure, not a test: it prints and asserts nothing.
 *
 *   npm run bench:plan                  # 3 runs, the median is the figure
 *   npm run bench:plan -- --runs 5 --employees 200000
 */
import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runPlan } from '../src/planning/planner';
import { renderReport } from '../src/planning/report/report';
import { loadScenario } from '../src/planning/scenario.loader';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, employees: { type: 'string', default: '100000' }, replications: { type: 'string', default: '20' } },
    strict: true,
  });
  const runs = Number(values.runs);
  const employees = Number(values.employees);
  const replications = Number(values.replications);

  const s = loadScenario(resolve(__dirname, '../scenarios/statenet-60k.yaml'));
  const headcount = s.agencies.reduce((sum, a) => sum + a.headcount, 0);
  let assigned = 0;
  s.agencies.forEach((a, i) => {
    a.headcount = i === s.agencies.length - 1 ? employees - assigned : Math.round((a.headcount * employees) / headcount);
    assigned += a.headcount;
  });
  s.replications = replications;

  const times: number[] = [];
  let requests = 0;
  let plan = runPlan(s);
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    plan = runPlan(s);
    times.push((performance.now() - started) / 1000);
  }
  for (const p of plan.pools) for (const v of [p.today, p.growth]) if (v) requests += v.requestsPerDay.reduce((a, b) => a + b, 0);
  const simulations = plan.pools.reduce((sum, p) => sum + p.today.simulations + (p.growth?.simulations ?? 0), 0);
  const rendering = performance.now();
  await renderReport(plan, { scenarioFile: 'scenarios/statenet-60k.yaml' });
  const renderSeconds = (performance.now() - rendering) / 1000;
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;

  process.stdout.write(
    [
      `capacity plan of a full workday: ${employees.toLocaleString('en-GB')} employees, ${replications} replications, ${plan.pools.length} pools, today and ×${s.growthFactor}`,
      `  requests simulated per run   ${requests.toLocaleString('en-GB')} first requests (all pools, variants and days)`,
      `  loss simulations per run     ${simulations} (capacity × day, below each day's peak)`,
      `  simulation and search        median ${median.toFixed(2)} s over ${runs} runs (${times.map((t) => t.toFixed(2)).join(', ')}), after one warm-up run`,
      `  rendering the report         ${renderSeconds.toFixed(2)} s (12 SVG charts, HTML, Markdown, CSV)`,
      `  machine                      ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
      '',
    ].join('\n'),
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
