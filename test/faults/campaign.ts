/**
 * A randomized fault campaign:
 * `npm run faults -- --runs N [--topology sentinel|cluster|both] [--seed S] [--json file] [--ack-replicas K]`.
 * `--ack-replicas 0` runs the brokers in the fast mode (REDIS_ACK_REPLICAS=0), to measure what it costs;
 * `--port-base B` moves every port (default 20010).
 * Each run takes its plan (topology persistence, faults, their timing) from its seed; a failing
 * run prints its seed and the history excerpts that prove each violation. Ports from the base B:
 * redis B.., sentinels B+20.., cluster B+100..B+105 (+ bus ports), brokers B+240.. (Sentinel) and B+250.. (Cluster).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { faultFigures, faultSummary, figures, summary, tableHeader, tableRow, type FaultFigures, type RunFigures } from './lib/report';
import { randomSeed } from './lib/random';
import { describeFailures, describeFaults, randomPlan, runPlan } from './lib/run';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    topology: { type: 'string', default: 'sentinel' },
    seed: { type: 'string' },
    json: { type: 'string' },
    'ack-replicas': { type: 'string' },
    'port-base': { type: 'string', default: '20010' },
  },
});
const runs = Number(values.runs);
const topologies = values.topology === 'both' ? (['sentinel', 'cluster'] as const) : ([values.topology] as ('sentinel' | 'cluster')[]);
if (!Number.isInteger(runs) || runs < 1 || topologies.some((t) => t !== 'sentinel' && t !== 'cluster')) {
  console.error('usage: npm run faults -- --runs N [--topology sentinel|cluster|both] [--seed S] [--json file] [--ack-replicas K] [--port-base B]');
  process.exit(2);
}
const base = values.seed !== undefined ? Number(values.seed) : randomSeed();
// Two campaigns at once need bases at least 30 apart (20010 and 20040 stay inside the suite's 20000-20999).
const portBase = Number(values['port-base']);
const brokerEnv: Record<string, string> = values['ack-replicas'] !== undefined ? { REDIS_ACK_REPLICAS: values['ack-replicas'] } : {};
console.log(`fault campaign: ${runs} run(s) per topology (${topologies.join(', ')}), seed ${base}${values['ack-replicas'] !== undefined ? `, REDIS_ACK_REPLICAS=${values['ack-replicas']}` : ''}`);

(async () => {
  const rows: RunFigures[] = [];
  const faults: FaultFigures[] = [];
  const failures: string[] = [];
  for (const topology of topologies) {
    for (let i = 0; i < runs; i++) {
      const seed = (base + i) | 0;
      const plan = randomPlan(seed, topology);
      console.log(`\nrun ${i + 1}/${runs} ${topology} seed ${seed} (${plan.replicas} replica(s), ${plan.persistence}): ${plan.faults.join(', ')}`);
      let r;
      try {
        // Sentinel and Cluster brokers on their own ports: a Sentinel and a Cluster campaign may run side by side.
        r = await runPlan(plan, { redis: portBase, sentinel: portBase + 20, cluster: portBase + 100, brokers: portBase + (topology === 'sentinel' ? 240 : 250) }, { brokerEnv });
      } catch (e) {
        // The harness itself failed (a topology that did not settle): counted, shown, and the campaign goes on.
        failures.push(`seed ${seed}: run aborted: ${(e as Error).message}`);
        console.log(failures[failures.length - 1]);
        continue;
      }
      const f = figures(r);
      rows.push(f);
      faults.push(...faultFigures(r));
      console.log(tableHeader());
      console.log(tableRow(f));
      console.log(describeFaults(r).join('\n'));
      if (r.failing.length) {
        const d = describeFailures(r, 3);
        failures.push(d);
        console.log(d);
      }
      if (values.json) writeFileSync(values.json, JSON.stringify({ base, rows, faults }, null, 1));
    }
  }
  const aborted = failures.filter((f) => f.includes('run aborted'));
  if (aborted.length) console.log(`\n${aborted.length} run(s) aborted:\n${aborted.join('\n')}`);
  console.log(`\n${tableHeader()}\n${rows.map(tableRow).join('\n')}\n\n${summary(rows)}\n\n${faultSummary(faults)}`);
  process.exit(failures.length ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(3);
});
