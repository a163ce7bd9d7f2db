import { runPlan, describeFaults } from './lib/run';
import { problemCode } from './lib/history';
(async () => {
  const kinds = (process.argv[2] ?? 'master-kill').split(',') as never[];
  const r = await runPlan({ seed: 7, topology: (process.argv[3] ?? 'sentinel') as never, replicas: Number(process.argv[4] ?? 1) as 1, persistence: 'none', faults: kinds }, { redis: 20010, sentinel: 20030, cluster: 20110, brokers: 20250 });
  console.log(describeFaults(r).join('\n'));
  const f = r.faults[0]!;
  for (let t = f.start - 1000; t < f.end + 16000; t += 500) {
    const line = [0, 1, 2].map((rep) => {
      const os = r.ops.filter((o) => o.replica === rep && o.end >= t && o.end < t + 500);
      const c: Record<string, number> = {};
      for (const o of os) { const k = `${o.status}${problemCode(o) === 'store-unavailable' ? 'su' : ''}`; c[k] = (c[k] ?? 0) + 1; }
      return Object.entries(c).map(([k, v]) => `${k}:${v}`).join(' ').padEnd(30);
    });
    console.log(((t - f.start) / 1000).toFixed(1).padStart(6), line.join('|'));
  }
  console.log(r.brokerLogs.map((l) => l.slice(-1500)).join('\n-----\n'));
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
