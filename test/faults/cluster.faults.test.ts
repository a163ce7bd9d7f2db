import { figures, tableHeader, tableRow } from './lib/report';
import { describeFailures, describeFaults, runPlan, type RunPlan } from './lib/run';

/** The fault suite on Redis Cluster (3 masters + 3 replicas): a graceful CLUSTER FAILOVER and a killed master. */
const PORTS = { redis: 20000, sentinel: 20020, cluster: 20100, brokers: 20210 };

const plan: RunPlan = { seed: 2001, topology: 'cluster', replicas: 1, persistence: 'none', faults: ['cluster-failover', 'cluster-master-kill'] };

describe('faults on Redis Cluster', () => {
  jest.setTimeout(180_000);

  it('keeps every promise through CLUSTER FAILOVER and a killed master', async () => {
    const r = await runPlan(plan, PORTS);
    console.log(`seed ${plan.seed}\n${tableHeader()}\n${tableRow(figures(r))}\n${describeFaults(r).join('\n')}`);
    expect(r.confirmedGrants).toBeGreaterThan(20);
    if (r.failing.length) throw new Error(describeFailures(r));
  });
});
