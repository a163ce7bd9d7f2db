import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult, BrokerFigures } from '../../bench/lib/types';
import { hotSpots } from '../../bench/lib/profile';
import { renderMarkdown, renderTable, targetsOf } from '../../bench/lib/report';

const lat = (p99: number) => ({ count: 100, errors: 0, p50: p99 / 3, p95: p99 / 1.5, p99, max: p99 * 2, mean: p99 / 3 });

function broker(store: 'redis' | 'memory', over: Partial<BrokerFigures> = {}): BrokerFigures {
  return {
    store,
    held: 60000,
    storm: { seconds: 25, grantsPerSecond: 2400, created: 60000, errors: 0, statuses: '201×60000', latency: lat(60), brokerCpuSeconds: 24 },
    countAtPeak: 60000,
    memory: {
      redisUsedBaseline: store === 'redis' ? 1_000_000 : null,
      redisUsedAtPeak: store === 'redis' ? 1_000_000 + 60000 * 350 : null,
      redisBytesPerGrant: store === 'redis' ? 350 : null,
      redisBytesPerHeldSession: store === 'redis' ? 290 : null,
      redisByKey: store === 'redis' ? [{ key: 'tb:{vpn-statenet}:grants', keys: 1, bytes: 8_000_000 }] : null,
      brokerRssIdle: 128 * 2 ** 20,
      brokerRssAtPeak: 200 * 2 ** 20,
    },
    mixed: { seconds: 30, offeredPerSecond: 2000, achievedPerSecond: 1990, grant: lat(15), heartbeat: lat(14), release: lat(13), errors: 0, brokerCpuShare: 0.6, late: 0 },
    throughput: { seconds: 10, connections: 32, pairsPerSecond: 3000, requestsPerSecond: 6000, grant: lat(20), release: lat(18), errors: 0, brokerCpuShare: 1, brokerCpuPerRequestUs: 167 },
    keepAliveStorm: {
      logonsPerSecond: 500, renewEverySeconds: 40, seconds: 80, heldAtStart: 30000, heldAtEnd: 60000, brokerCountAtEnd: 60000,
      grant: lat(20), heartbeat: lat(30), lost: 0, logonErrors: 0, heartbeatsPerSecond: 1100, achievedLogonsPerSecond: 500, late: 0, brokerCpuShare: 0.7, brokerCpuPerRequestUs: 400,
      eventLoopDelayMs: { broker: { p99: 31.5, max: 120 }, generator: { p99: 12.25, max: 48 } },
    },
    bulkRenewal: { ...lat(50), idsPerRequest: 5000 },
    baselines: {
      bare: { requestsPerSecond: 10000, p99: 5, errors: 0 },
      semaphore: { pairsPerSecond: 3500, requestsPerSecond: 7000, acquire: lat(10), release: lat(9), errors: 0 },
    },
    reclaim: { leases: 60000, secondsAfterLastExpiry: 3.5, secondsAfterFirstExpiry: 4, leftAfterWait: 0 },
    ...over,
  };
}

function result(brokers: BrokerFigures[]): BenchResult {
  return {
    startedAt: '2026-11-21T07:00:00.000Z',
    finishedAt: '2026-11-21T07:10:00.000Z',
    revision: 'abc1234',
    machine: { cpus: 'AMD EPYC', cores: 2, memoryGiB: 24, node: 'v20.20.2', os: 'Linux', redis: '7.0.15', loadAverageBefore: [1, 1, 1], loadAverageAfter: [2, 2, 2] },
    settings: {
      held: 60000,
      stormConnections: 64,
      mixedSeconds: 30,
      mixedRate: 2000,
      mixedConnections: 16,
      throughputSeconds: 10,
      throughputConnections: 32,
      stores: ['redis', 'memory'],
      baselines: true,
      profile: false,
      quick: false,
      noBuild: false,
      commit: null,
    },
    brokers,
    failures: [],
  };
}

describe('benchmark report', () => {
  it('judges every target of the issue per store, from the figures measured', () => {
    const checks = targetsOf(result([broker('redis'), broker('memory', { storm: { ...broker('memory').storm, seconds: 31 } })]));
    const get = (store: string, name: string) => checks.find((c) => c.store === store && c.name.startsWith(name))!;
    expect(get('redis', 'sessions held').met).toBe(true);
    expect(get('redis', 'logon storm').met).toBe(true);
    expect(get('memory', 'logon storm').met).toBe(false);
    expect(get('redis', 'grant p99').met).toBe(true);
    expect(get('redis', 'broker CPU per admission request')).toMatchObject({ value: '167 µs', met: false });
    expect(get('redis', 'admission throughput / bare')).toMatchObject({ value: '0.60 (stretch 0.5 met)', met: true });
    expect(get('redis', 'admission throughput / redis-semaphore')).toMatchObject({ value: '0.86', met: true });
    expect(get('redis', 'keep-alive storm: grant p99').met).toBe(true);
    expect(get('redis', 'keep-alive storm: heartbeat p99').met).toBe(false);
    expect(get('redis', 'keep-alive storm: sessions lost').met).toBe(true);
    expect(get('redis', 'Redis bytes per held session').met).toBe(true);
    expect(get('memory', 'Redis bytes per held session').met).toBeNull();
    expect(get('redis', 'expired leases').met).toBe(true);
  });

  it('judges worker scaling only where the host has a core per worker besides Redis and the load generator', () => {
    const w = (workers: number, rps: number) => ({ workers, pairsPerSecond: rps / 2, requestsPerSecond: rps, grant: lat(10), errors: 0, brokerCpuShare: workers, brokerCpuPerRequestUs: 100 });
    const small = { ...result([]), workers: [w(1, 1000), w(2, 1700)] };
    expect(targetsOf(small).find((c) => c.name.startsWith('BROKER_WORKERS=2'))).toMatchObject({ met: null, target: '≥ 1.6 (0.8 × N)' });
    const big = { ...small, machine: { ...small.machine, cores: 16 } };
    expect(targetsOf(big).find((c) => c.name.startsWith('BROKER_WORKERS=2'))).toMatchObject({ value: '1.70', met: true });
    expect(renderTable(big, targetsOf(big))).toContain('BROKER_WORKERS (Redis)');
  });

  it('counts sessions the keep-alive storm lost, or a broker count unlike the clients\', as a miss', () => {
    const b = broker('redis');
    const lost = targetsOf(result([{ ...b, keepAliveStorm: { ...b.keepAliveStorm!, lost: 3 } }]));
    expect(lost.find((c) => c.name === 'keep-alive storm: sessions lost')!.met).toBe(false);
    const miscounted = targetsOf(result([{ ...b, keepAliveStorm: { ...b.keepAliveStorm!, brokerCountAtEnd: 59990 } }]));
    expect(miscounted.find((c) => c.name === 'keep-alive storm: sessions lost')!.met).toBe(false);
  });

  it('does not judge CPU and throughput from a throughput phase that met refusals (rate limits) instead of admissions', () => {
    const b = broker('redis');
    const refused = targetsOf(result([{ ...b, throughput: { ...b.throughput, errors: 22_000, brokerCpuPerRequestUs: 60 } }]));
    expect(refused.find((c) => c.name === 'broker CPU per admission request')).toMatchObject({ value: '60 µs (22,000 refused: not valid)', met: null });
    expect(refused.find((c) => c.name === 'admission throughput / bare Fastify')!.met).toBeNull();
    expect(refused.find((c) => c.name === 'admission throughput / redis-semaphore')!.met).toBeNull();
  });

  it('counts a run that never reached zero as a missed reclaim, and errors in the storm as a miss', () => {
    const checks = targetsOf(
      result([broker('redis', { reclaim: { leases: 60000, secondsAfterLastExpiry: null, secondsAfterFirstExpiry: null, leftAfterWait: 12 }, storm: { ...broker('redis').storm, errors: 3 } })]),
    );
    expect(checks.find((c) => c.name === 'expired leases reclaimed')).toMatchObject({ met: false, value: 'not all (12 left)' });
    expect(checks.find((c) => c.name === 'logon storm to held')!.met).toBe(false);
  });

  it('prints a table and writes Markdown with the machine, the revision and the failures', () => {
    const r = result([broker('redis')]);
    r.failures.push({ store: 'memory', error: 'broker (memory) exited (1) before it was ready' });
    const table = renderTable(r, targetsOf(r));
    expect(table).toContain('held at peak (broker count)');
    expect(table).toMatch(/keep-alive storm: event-loop delay p99\/max +broker 31\.5 \/ 120\.0 ms, load generator 12\.3 \/ 48\.0 ms/);
    expect(table).toContain('memory: FAILED');
    const md = renderMarkdown(r, targetsOf(r));
    expect(md).toContain('Broker: abc1234.');
    expect(md).toContain('2 × AMD EPYC');
    expect(md).toContain('| `tb:{vpn-statenet}:grants` | 1 | 8,000,000 | 133.3 |');
    expect(md).toMatch(/\| redis \| Redis bytes per held session \| ≤ 300 B \(audit apart\) \| 290 B \(350 B with the audit record\) \| met \|/);
  });
});

describe('CPU profile summary', () => {
  it('charges time spent in Node internals to the library that called them, and leaves idle out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpuprof-'));
    try {
      const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' });
      writeFileSync(
        join(dir, 'x.cpuprofile'),
        JSON.stringify({
          nodes: [
            { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 5] },
            { id: 2, callFrame: frame('(idle)', ''), children: [] },
            { id: 3, callFrame: frame('sendCommand', 'file:///app/node_modules/ioredis/built/Redis.js'), children: [4] },
            { id: 4, callFrame: frame('writeUtf8String', ''), children: [] },
            { id: 5, callFrame: frame('grant', 'file:///app/bench-results/build/services/grant.service.js'), children: [] },
          ],
          samples: [2, 2, 4, 4, 4, 5],
          timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000],
          startTime: 0,
          endTime: 6000,
        }),
      );
      const p = hotSpots(dir, '/app/bench-results/build');
      expect(p.totalMs).toBe(4);
      expect(p.byArea).toEqual([
        { area: 'ioredis', share: 0.75 },
        { area: 'broker services/', share: 0.25 },
      ]);
      expect(p.spots[0]).toMatchObject({ fn: 'writeUtf8String', share: 0.75 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
