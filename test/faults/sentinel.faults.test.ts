import { figures, tableHeader, tableRow } from './lib/report';
import { describeFailures, describeFaults, runPlan, type RunPlan } from './lib/run';

/**
 * Three broker replicas on Redis with one or two replicas and three Sentinels, concurrent employees,
 * seeded faults; the history checker judges what clients were told (docs/faults-campaign.md).
 * Together these plans inject every Sentinel fault kind. `npm run faults` runs randomized plans.
 */
const PORTS = { redis: 20000, sentinel: 20020, cluster: 20100, brokers: 20200 };

const plans: RunPlan[] = [
  // Last, a partition: the master keeps running and the brokers still reach it, but the Sentinels and the
  // replica cannot (their ACL users revoked, docs/faults-campaign.md); nothing it takes may be confirmed.
  { seed: 1001, topology: 'sentinel', replicas: 1, persistence: 'none', faults: ['sentinel-failover', 'broker-kill', 'master-pause-short', 'master-partition'] },
  // Two replicas: a confirmed write must be on both, since either may be promoted (WAIT 1 lost grants on
  // SENTINEL FAILOVER and a long master pause in the campaign, seeds 10001 and 10008, docs/faults-campaign.md).
  { seed: 1002, topology: 'sentinel', replicas: 2, persistence: 'aof-always', faults: ['sentinel-failover', 'master-pause-long', 'master-restart-aof'] },
  // Restarted empty without persistence last: grants cannot survive it; fencing, 5xx and unknown-pool are still judged.
  { seed: 1003, topology: 'sentinel', replicas: 1, persistence: 'none', faults: ['master-kill', 'broker-pause', 'master-restart-empty'] },
];

describe('faults on Redis Sentinel', () => {
  jest.setTimeout(180_000);

  it.each(plans.map((p) => [p.faults.join(', '), p] as const))('keeps every promise through %s', async (_, plan) => {
    const r = await runPlan(plan, PORTS);
    console.log(`seed ${plan.seed}\n${tableHeader()}\n${tableRow(figures(r))}\n${describeFaults(r).join('\n')}`);
    expect(r.confirmedGrants).toBeGreaterThan(20); // the workload ran through the faults
    // The partition bit: the brokers' writes reached the cut-off master (none of them may be confirmed).
    for (const f of r.faults.filter((x) => x.kind === 'master-partition')) expect(f.observed?.scriptsBeforePromotion).toBeGreaterThan(0);
    if (r.failing.length) throw new Error(describeFailures(r));
  });
});
