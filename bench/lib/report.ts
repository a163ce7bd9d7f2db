import { describeStall, type StallSummary } from './stalls';
import type { BenchResult, BrokerFigures, RuntimeFigures } from './types';

/** One target of the issue, for one store: met, missed, or not measured. */
export interface TargetCheck {
  store: string;
  name: string;
  target: string;
  value: string;
  met: boolean | null;
}

const f0 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Math.round(x).toLocaleString('en-US'));
const f1 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(1));
const f2 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '–' : x.toFixed(2));
const mib = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(x / 2 ** 20).toFixed(0)} MiB`);
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(0)} %`);
const mark = (met: boolean | null) => (met === null ? 'n/a' : met ? 'met' : 'MISSED');

/** Cores a host needs besides the broker workers measured: Redis and the load generator, one each. */
const CORES_BESIDES_WORKERS = 2;

/** ", 12 µs CPU/request" when the figure is known. */
const cpuOf = (x: { cpuPerRequestUs?: number | null }) => (x.cpuPerRequestUs ? `, ${f0(x.cpuPerRequestUs)} µs CPU/request` : '');

/** The targets of issues 12 and earlier, judged per store from the figures of one run. */
export function targetsOf(r: BenchResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const b of r.brokers) {
    const bare = b.baselines.bare?.requestsPerSecond ?? null;
    const sem = b.baselines.semaphore?.pairsPerSecond ?? null;
    const vsBare = bare ? b.throughput.requestsPerSecond / bare : null;
    const vsSem = sem ? b.throughput.pairsPerSecond / sem : null;
    // A throughput phase that met refusals (429, 409) measured those, not admissions: its figures are not judged.
    const tpErrors = b.throughput.errors;
    const tpValid = tpErrors <= 0.001 * (b.throughput.grant.count + b.throughput.release.count);
    const invalid = tpValid ? '' : ` (${f0(tpErrors)} refused: not valid)`;
    const cpu = b.throughput.brokerCpuPerRequestUs ?? null;
    const perSession = b.memory.redisBytesPerHeldSession ?? null;
    const stretch = (x: number | null, at: number) => (x !== null && x >= at ? ` (stretch ${at} met)` : '');
    out.push(
      { store: b.store, name: 'sessions held on one broker process', target: `${f0(b.held)}`, value: f0(b.countAtPeak), met: b.countAtPeak === b.held },
      { store: b.store, name: 'logon storm to held', target: '≤ 30 s, 0 errors', value: `${f2(b.storm.seconds)} s, ${b.storm.errors} errors`, met: b.storm.seconds <= 30 && b.storm.errors === 0 },
      { store: b.store, name: 'grant p99 under mixed load', target: '≤ 20 ms', value: `${f2(b.mixed.grant.p99)} ms`, met: b.mixed.grant.p99 <= 20 },
      { store: b.store, name: 'broker CPU per admission request', target: '≤ 80 µs', value: cpu === null ? '–' : `${f0(cpu)} µs${invalid}${b.baselines.bare?.cpuPerRequestUs ? ` (bare Fastify ${f0(b.baselines.bare.cpuPerRequestUs)} µs)` : ''}`, met: cpu === null || !tpValid ? null : cpu <= 80 },
      { store: b.store, name: 'admission throughput / bare Fastify', target: '≥ 0.25 (stretch 0.5)', value: f2(vsBare) + stretch(vsBare, 0.5) + invalid, met: vsBare === null || !tpValid ? null : vsBare >= 0.25 },
      { store: b.store, name: 'admission throughput / redis-semaphore', target: '≥ 0.6 (stretch 1.0)', value: f2(vsSem) + stretch(vsSem, 1) + invalid, met: vsSem === null || !tpValid ? null : vsSem >= 0.6 },
    );
    const k = b.keepAliveStorm;
    if (k) {
      out.push(
        { store: b.store, name: 'keep-alive storm: grant p99', target: '≤ 25 ms', value: `${f2(k.grant.p99)} ms`, met: k.grant.p99 <= 25 },
        { store: b.store, name: 'keep-alive storm: heartbeat p99', target: '≤ 25 ms', value: `${f2(k.heartbeat.p99)} ms`, met: k.heartbeat.p99 <= 25 },
        {
          store: b.store,
          name: 'keep-alive storm: sessions lost',
          target: '0',
          value: `${k.lost} lost, ${k.logonErrors} logons failed, broker ${f0(k.brokerCountAtEnd)} / clients ${f0(k.heldAtEnd)}`,
          met: k.lost === 0 && k.logonErrors === 0 && k.brokerCountAtEnd === k.heldAtEnd,
        },
      );
    }
    out.push(
      {
        store: b.store,
        name: 'Redis bytes per held session',
        target: '≤ 300 B (audit apart)',
        value: perSession === null ? '–' : `${f0(perSession)} B (${f0(b.memory.redisBytesPerGrant)} B with the audit record)`,
        met: perSession === null ? null : perSession <= 300,
      },
      {
        store: b.store,
        name: 'expired leases reclaimed',
        target: '≤ 5 s',
        value: b.reclaim.secondsAfterLastExpiry === null ? `not all (${b.reclaim.leftAfterWait} left)` : `${f1(b.reclaim.secondsAfterLastExpiry)} s`,
        met: b.reclaim.secondsAfterLastExpiry === null ? false : b.reclaim.secondsAfterLastExpiry <= 5,
      },
    );
  }
  const one = r.workers?.find((w) => w.workers === 1);
  for (const w of r.workers ?? []) {
    if (w.workers === 1 || !one) continue;
    const scale = w.requestsPerSecond / one.requestsPerSecond;
    // Only where the host has a core for each worker besides Redis and the load generator is the
    // target meaningful; on a smaller host the figure is reported, not judged.
    const fits = r.machine.cores >= w.workers + CORES_BESIDES_WORKERS;
    out.push({
      store: 'redis',
      name: `BROKER_WORKERS=${w.workers} throughput / 1 worker`,
      target: `≥ ${f1(0.8 * w.workers)} (0.8 × N)`,
      value: `${f2(scale)}${fits ? '' : ` (${r.machine.cores} cores shared with Redis and the load generator: not judged)`}`,
      met: fits ? scale >= 0.8 * w.workers : null,
    });
  }
  return out;
}

function rows(r: BenchResult): string[][] {
  const head = ['', ...r.brokers.map((b) => `broker, ${b.store === 'redis' ? 'Redis' : 'embedded store'}`)];
  const line = (label: string, f: (b: BrokerFigures) => string) => [label, ...r.brokers.map(f)];
  const lat = (x: { p50: number; p95: number; p99: number }) => `${f2(x.p50)} / ${f2(x.p95)} / ${f2(x.p99)}`;
  return [
    head,
    line('held at peak (broker count)', (b) => f0(b.countAtPeak)),
    line('logon storm: time to held', (b) => `${f2(b.storm.seconds)} s (${f0(b.storm.grantsPerSecond)}/s)`),
    line('logon storm: errors', (b) => `${b.storm.errors} (${b.storm.statuses})`),
    line('logon storm: grant p50/p95/p99 ms', (b) => lat(b.storm.latency)),
    line('logon storm: broker CPU per grant', (b) => (b.storm.brokerCpuSeconds === null ? '–' : `${f0((b.storm.brokerCpuSeconds / b.storm.created) * 1e6)} µs`)),
    line('mixed: warm-up, grant / heartbeat p99 ms', (b) => (b.mixed.warmUp ? `${f2(b.mixed.warmUp.grant.p99)} / ${f2(b.mixed.warmUp.heartbeat.p99)} in the first ${b.mixed.warmUp.seconds} s (not in the figures below); stalls ${stallLine(b.mixed.warmUp.stalls)}` : '–')),
    line('mixed load achieved (paced)', (b) => `${f0(b.mixed.achievedPerSecond)} ops/s of ${f0(b.mixed.offeredPerSecond)}, ${b.mixed.errors} errors, ${b.mixed.late ?? 0} started > 100 ms late`),
    line('mixed: grant p50/p95/p99 ms', (b) => lat(b.mixed.grant)),
    line('mixed: heartbeat p50/p95/p99 ms', (b) => lat(b.mixed.heartbeat)),
    line('mixed: release p50/p95/p99 ms', (b) => lat(b.mixed.release)),
    line('mixed: gateway bulk renewals p50/p95/p99 ms', (b) => (b.mixed.bulkRenewal ? `${lat(b.mixed.bulkRenewal)} (${b.mixed.bulkRenewal.count}, ${b.mixed.bulkRenewal.errors} errors)` : '–')),
    line('mixed: broker CPU (share of one core)', (b) => pct(b.mixed.brokerCpuShare)),
    line('mixed: stalls (requests > 20 ms bunched)', (b) => stallLine(b.mixed.stalls, 'a gateway report')),
    line('mixed: event-loop delay p99/max', (b) => loopLine(b.mixed.runtime?.brokerLoopDelayMs, b.mixed.runtime?.generatorLoopDelayMs)),
    line('mixed: broker GC (count, ms, > 10 ms)', (b) => gcLine(b.mixed.runtime?.brokerGc)),
    line('admission throughput', (b) => `${f0(b.throughput.pairsPerSecond)} pairs/s (${f0(b.throughput.requestsPerSecond)} req/s), ${b.throughput.errors} errors`),
    line('throughput: grant p50/p95/p99 ms', (b) => lat(b.throughput.grant)),
    line('throughput: broker CPU (share of one core)', (b) => pct(b.throughput.brokerCpuShare)),
    line('throughput: broker CPU per request', (b) => (b.throughput.brokerCpuPerRequestUs == null ? '–' : `${f0(b.throughput.brokerCpuPerRequestUs)} µs`)),
    line('throughput: Redis CPU per request', (b) => {
      const own = b.throughput.redisCpuPerRequestUs;
      if (own == null) return '–';
      const sem = b.baselines.semaphore?.redisCpuPerRequestUs;
      return `${f0(own)} µs${sem ? ` (redis-semaphore ${f0(sem)} µs)` : ''}`;
    }),
    line('  baseline: bare Fastify route', (b) => (b.baselines.bare ? `${f0(b.baselines.bare.requestsPerSecond)} req/s, p99 ${f2(b.baselines.bare.p99)} ms${cpuOf(b.baselines.bare)}` : '–')),
    line('  baseline: redis-semaphore service', (b) => {
      const x = b.baselines.semaphore;
      return x ? `${f0(x.pairsPerSecond)} pairs/s (${f0(x.requestsPerSecond)} req/s), acquire p99 ${f2(x.acquire.p99)} ms, ${x.errors} errors${cpuOf(x)}` : '–';
    }),
    line('  broker vs bare Fastify (req/s)', (b) => (b.baselines.bare ? f2(b.throughput.requestsPerSecond / b.baselines.bare.requestsPerSecond) : '–')),
    line('  broker vs redis-semaphore (pairs/s)', (b) => (b.baselines.semaphore ? f2(b.throughput.pairsPerSecond / b.baselines.semaphore.pairsPerSecond) : '–')),
    line('keep-alive storm: held start → end', (b) => (b.keepAliveStorm ? `${f0(b.keepAliveStorm.heldAtStart)} → ${f0(b.keepAliveStorm.heldAtEnd)} (broker ${f0(b.keepAliveStorm.brokerCountAtEnd)})` : '–')),
    line('keep-alive storm: logons, heartbeats /s', (b) => (b.keepAliveStorm ? `${f0(b.keepAliveStorm.achievedLogonsPerSecond)} of ${f0(b.keepAliveStorm.logonsPerSecond)}, ${f0(b.keepAliveStorm.heartbeatsPerSecond)} (every ${b.keepAliveStorm.renewEverySeconds} s)` : '–')),
    line('keep-alive storm: grant p50/p95/p99 ms', (b) => (b.keepAliveStorm ? lat(b.keepAliveStorm.grant) : '–')),
    line('keep-alive storm: heartbeat p50/p95/p99 ms', (b) => (b.keepAliveStorm ? lat(b.keepAliveStorm.heartbeat) : '–')),
    line('keep-alive storm: lost, late starts', (b) => (b.keepAliveStorm ? `${b.keepAliveStorm.lost} lost, ${b.keepAliveStorm.late} late` : '–')),
    line('keep-alive storm: event-loop delay p99/max', (b) => loopLine(b.keepAliveStorm?.eventLoopDelayMs?.broker, b.keepAliveStorm?.eventLoopDelayMs?.generator)),
    line('keep-alive storm: stalls (requests > 25 ms)', (b) => stallLine(b.keepAliveStorm?.stalls)),
    line('keep-alive storm: broker GC (count, ms, > 10 ms)', (b) => gcLine(b.keepAliveStorm?.brokerGc)),
    line('keep-alive storm: broker CPU, per request', (b) => (b.keepAliveStorm ? `${pct(b.keepAliveStorm.brokerCpuShare)}, ${f0(b.keepAliveStorm.brokerCpuPerRequestUs)} µs` : '–')),
    line('Redis memory per active grant', (b) => (b.memory.redisBytesPerGrant === null ? '–' : `${f0(b.memory.redisBytesPerGrant)} B`)),
    line('Redis bytes per held session (audit apart)', (b) => (b.memory.redisBytesPerHeldSession == null ? '–' : `${f0(b.memory.redisBytesPerHeldSession)} B`)),
    line('broker RSS idle → at peak', (b) => `${mib(b.memory.brokerRssIdle)} → ${mib(b.memory.brokerRssAtPeak)}`),
    line('bulk renewal (ids each) p50/max ms', (b) => `${f0(b.bulkRenewal.idsPerRequest)}: ${f1(b.bulkRenewal.p50)} / ${f1(b.bulkRenewal.max)}`),
    line('reclaim after last expiry', (b) => (b.reclaim.secondsAfterLastExpiry === null ? `not all (${b.reclaim.leftAfterWait} left)` : `${f1(b.reclaim.secondsAfterLastExpiry)} s`)),
  ];
}

function loopLine(broker: { p99: number; max: number } | null | undefined, generator: { p99: number; max: number } | undefined): string {
  if (!generator) return '–';
  return `${broker ? `broker ${f1(broker.p99)} / ${f1(broker.max)} ms` : 'broker –'}, load generator ${f1(generator.p99)} / ${f1(generator.max)} ms`;
}

function stallLine(s: StallSummary | undefined, marker?: string): string {
  if (!s) return '–';
  return `${s.stalls} (${f0(s.slow)} requests, ${pct(s.share)} of the time${marker ? `; ${s.withMarker} during ${marker}` : ''})`;
}

function gcLine(gc: RuntimeFigures['brokerGc'] | undefined): string {
  if (!gc) return '–';
  const kinds = Object.entries(gc).sort((a, b) => b[1].ms - a[1].ms);
  return kinds.length ? kinds.map(([k, g]) => `${k} ${g.count}, ${f0(g.ms)} ms, ${g.over10ms}`).join('; ') : 'none';
}

/** The worst stalls of each paced phase, one line each (bench/lib/stalls.ts). */
function stallDetails(r: BenchResult): string[] {
  const out: string[] = [];
  for (const b of r.brokers) {
    for (const [phase, s] of [['mixed load', b.mixed.stalls], ['keep-alive storm', b.keepAliveStorm?.stalls]] as const) {
      if (!s || s.worst.length === 0) continue;
      out.push(`${b.store}, ${phase}: the ${s.worst.length} largest of ${s.stalls} stalls (requests over ${s.thresholdMs} ms)`);
      for (const w of s.worst) out.push(`  ${describeStall(w)}`);
    }
  }
  return out;
}

function textTable(t: string[][]): string {
  const widths = t[0]!.map((_, i) => Math.max(...t.map((r) => (r[i] ?? '').length)));
  return t.map((r, k) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + (k === 0 ? '\n' + widths.map((w) => '-'.repeat(w)).join('  ') : '')).join('\n');
}

function mdTable(t: string[][]): string {
  return [t[0]!, t[0]!.map(() => '---'), ...t.slice(1)].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function targetRows(checks: TargetCheck[]): string[][] {
  return [['store', 'target', 'wanted', 'measured', ''], ...checks.map((c) => [c.store, c.name, c.target, c.value, mark(c.met)])];
}

function failureLines(r: BenchResult): string[] {
  return r.failures.map((f) => `${f.store}: FAILED — ${f.error.split('\n').slice(0, 3).join(' ')}`);
}

function workerRows(r: BenchResult): string[][] | null {
  if (!r.workers || r.workers.length === 0) return null;
  return [
    ['BROKER_WORKERS (Redis)', 'pairs/s', 'req/s', 'grant p99 ms', 'broker CPU (cores)', 'CPU per request', 'errors'],
    ...r.workers.map((w) => [String(w.workers), f0(w.pairsPerSecond), f0(w.requestsPerSecond), f2(w.grant.p99), w.brokerCpuShare === null ? '–' : f2(w.brokerCpuShare), w.brokerCpuPerRequestUs === null ? '–' : `${f0(w.brokerCpuPerRequestUs)} µs`, String(w.errors)]),
  ];
}

export function renderTable(r: BenchResult, checks: TargetCheck[]): string {
  const parts = r.brokers.length > 0 ? [textTable(rows(r)), ''] : [];
  const w = workerRows(r);
  if (w) parts.push(textTable(w), '');
  const stalls = stallDetails(r);
  if (stalls.length) parts.push(...stalls, '');
  return [...parts, textTable(targetRows(checks)), ...failureLines(r)].join('\n');
}

export function renderMarkdown(r: BenchResult, checks: TargetCheck[]): string {
  const m = r.machine;
  const s = r.settings;
  const parts = [
    `# Benchmark run ${r.startedAt}`,
    '',
    `Broker: ${r.revision}.`,
    `Machine: ${m.cores} × ${m.cpus}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}; Redis ${m.redis}. Load generator, broker and Redis share the machine; load average before the run ${m.loadAverageBefore.join(' ')}, after ${(m.loadAverageAfter ?? []).join(' ')} (1, 5, 15 min).`,
    `Settings: ${s.held.toLocaleString('en-US')} held; storm over ${s.stormConnections} connections; mixed load ${s.mixedRate} ops/s for ${s.mixedSeconds} s over 2 × ${s.mixedConnections} connections; throughput over ${s.throughputConnections} connections for ${s.throughputSeconds} s${s.quick ? ' (--quick)' : ''}${s.brokerNodeArgs?.length ? `; broker started with \`node ${s.brokerNodeArgs.join(' ')}\`` : ''}.`,
    '',
    r.brokers.length > 0 ? mdTable(rows(r)) : '(no broker run completed)',
    '',
    ...(workerRows(r) ? [mdTable(workerRows(r)!), ''] : []),
    ...(stallDetails(r).length ? ['```', ...stallDetails(r), '```', ''] : []),
    '## Targets',
    '',
    mdTable(targetRows(checks)),
    ...failureLines(r).map((l) => `\n${l}`),
  ];
  for (const b of r.brokers) {
    if (!b.memory.redisByKey) continue;
    parts.push('', `## Redis memory at the peak by key (${b.held.toLocaleString('en-US')} held)`, '');
    parts.push(mdTable([['key', 'keys', 'bytes', 'per held session'], ...b.memory.redisByKey.slice(0, 12).map((k) => [`\`${k.key}\``, f0(k.keys), f0(k.bytes), f1(k.bytes / b.held)])]));
  }
  for (const b of r.brokers) {
    if (!b.profile) continue;
    parts.push('', `## Where the broker's CPU time goes (${b.store}, whole run, node --cpu-prof; shares of busy time, ${(b.profile.totalMs / 1000).toFixed(1)} s)`, '');
    parts.push(mdTable([['area', 'share'], ...b.profile.byArea.slice(0, 12).map((a) => [a.area, `${(a.share * 100).toFixed(1)} %`])]));
    parts.push('', mdTable([['self time', 'function', 'where'], ...b.profile.spots.map((x) => [`${(x.share * 100).toFixed(1)} %`, x.fn, x.where])]));
  }
  return parts.join('\n') + '\n';
}
