/**
 * npm run bench:lua — what each lease script costs Redis, at a realistic fill. Redis runs every
 * script of every replica on one core, so its time per admission bounds what all replicas together
 * can admit, and on a shared host it takes CPU from the broker beside it.
 *
 * Starts its own redis-server (loopback, 6390–6399), writes the bench configuration's pools, fills
 * vpn-statenet to --held leases, then times grant, heartbeat and release (--calls each, 64 in flight)
 * from Redis's own accounting (INFO commandstats: the time inside FCALL or EVALSHA, network apart),
 * each as a Redis Function (what the broker runs) and as EVALSHA (its fallback without Functions). Beside
 * them, measured on the same server in the same run: an empty script (EVALSHA 'return 1', what any
 * script call costs) and redis-semaphore's acquire + release (the baseline service of npm run bench).
 *
 * Then a gateway's report of every lease one member carries, by the size of its parts (one call,
 * then parts of 1,000, 500 and the store's default): how long each script call holds Redis (SLOWLOG,
 * every call), Redis's time for the whole report and the report's time as the broker sees it. Every
 * other client of Redis waits behind a call, so its longest call is what a report adds to theirs.
 *
 *   npm run bench:lua                       # 30,000 held, 5,000 calls each, two rounds
 *   npm run bench:lua -- --held 55000 --calls 2000 --rounds 3
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Semaphore } from 'redis-semaphore';
import { loadAppConfig } from '../src/config/config.loader';
import { poolSpecsFromConfig } from '../src/config/pool-specs';
import { BULK_RENEWAL_PART, RedisLeaseStore } from '../src/repositories/redis/redis-lease.store';
import { freePort, REDIS_PORTS, startRedis, stop } from './lib/processes';
import { median } from './lib/stats';
import { inBatches, POOL } from './phases/context';
import { allocateEmployees, interleaveAgencies } from '../load-tests/lib/employees';

const ROOT = resolve(__dirname, '..');
const IN_FLIGHT = 64;
/** The indices 0 … n − 1, for inBatches. */
const indices = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Microseconds Redis spent in commands since the last RESETSTAT, all commands together. */
async function commandMicros(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/^cmdstat_(?!config)[^:]+:calls=\d+,usec=(\d+)/gm)) total += Number(m[1]);
  return total;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { held: { type: 'string', default: '30000' }, calls: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '2' } },
  });
  const held = Number(values.held);
  const calls = Number(values.calls);
  const rounds = Number(values.rounds);
  const config = loadAppConfig(
    { BROKER_CONFIG: join(ROOT, 'bench', 'broker.bench.yaml'), BROKER_JWT_SECRET: randomBytes(32).toString('base64url'), BROKER_PSEUDONYM_KEY: randomBytes(32).toString('base64url'), BROKER_STATE_DIR: join(ROOT, 'bench-results', 'state'), LOG_LEVEL: 'silent' },
    ROOT,
  );
  const specs = poolSpecsFromConfig(config.broker);
  const agencies = specs.find((p) => p.id === POOL)!.agencies;
  const capacity = specs.find((p) => p.id === POOL)!.members.reduce((n, m) => n + m.maxSessions, 0);
  if (held + calls > capacity) throw new Error(`--held + --calls must fit in ${POOL} (${capacity})`);
  // Owners of each agency in the proportions the load tests use (shares and maxima of the pool).
  const agencyOf = interleaveAgencies(allocateEmployees(held + 2 * rounds * calls, agencies));

  const port = await freePort(REDIS_PORTS);
  const server = await startRedis(port);
  const admin = server.client;
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  const options = { reapBatch: config.broker.leases.reapBatch, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000, keyPrefix: 'lua-bench:' };
  // The same scripts run both ways on the same keys: as Redis Functions (what the broker uses) and as
  // EVALSHA (its fallback, and what it used before), each round.
  const evalClient = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  const stores = { functions: new RedisLeaseStore(client, { ...options, scripts: 'functions' }), eval: new RedisLeaseStore(evalClient, { ...options, scripts: 'eval' }) };
  const store = stores.functions;
  const figures: Record<string, number[]> = { 'empty script': [] };
  for (const mode of ['functions', 'eval']) for (const op of ['grant', 'heartbeat', 'release']) figures[`${op} (${mode})`] = [];
  figures['redis-semaphore acquire + release'] = [];
  const reports: { part: string; calls: number; maxUs: number; p50Us: number; redisMs: number; wallMs: number }[] = [];
  try {
    await store.syncPools(specs);
    let next = 0;
    const grant = async (i: number, via = store): Promise<string | null> => {
      const r = await via.grant({ pool: POOL, owner: `o${i}`, agency: agencyOf[i]!, clientId: 'c', newGrantId: `g${i}` });
      return r.ok && r.value.outcome === 'created' ? r.value.grant.id : null;
    };
    process.stdout.write(`filling ${POOL} to ${held} leases\n`);
    let refused = 0;
    await inBatches(indices(held), IN_FLIGHT, async (i) => void ((await grant(i)) === null && refused++));
    if (refused > 0) throw new Error(`${refused} fill grants were refused`);
    next = held;
    const timed = async (label: string, fn: (i: number) => Promise<unknown>): Promise<void> => {
      await admin.config('RESETSTAT');
      await inBatches(indices(calls), IN_FLIGHT, async (i) => void (await fn(i)));
      figures[label]!.push((await commandMicros(admin)) / calls);
    };
    const empty = (await admin.script('LOAD', 'return 1')) as string;
    const semaphoreOptions = { lockTimeout: 600_000, acquireAttemptsLimit: 1, refreshInterval: 0 };
    for (let r = 0; r < rounds; r++) {
      await timed('empty script', () => client.evalsha(empty, 0));
      for (const [mode, via] of Object.entries(stores)) {
        const ids: (string | null)[] = [];
        const base = next;
        next += calls;
        await timed(`grant (${mode})`, async (i) => (ids[i] = await grant(base + i, via)));
        if (ids.some((id) => id === null)) throw new Error('a grant was refused: the fill or the agencies do not match the pool');
        await timed(`heartbeat (${mode})`, (i) => via.heartbeat(POOL, ids[i]!, `o${base + i}`));
        await timed(`release (${mode})`, (i) => via.release(POOL, ids[i]!, `o${base + i}`));
      }
      await timed('redis-semaphore acquire + release', async () => {
        const sem = new Semaphore(client, 'lua-bench-semaphore', capacity, semaphoreOptions);
        if (!(await sem.tryAcquire())) throw new Error('the semaphore refused');
        await sem.release();
      });
    }
    // A gateway's report: every live lease of the member that carries most, renewed, by part size.
    let member = '';
    let ids: string[] = [];
    for (const m of specs.find((p) => p.id === POOL)!.members) {
      const live = await store.listByMember(POOL, m.id);
      if (live.ok && live.value.length > ids.length) [member, ids] = [m.id, live.value.map((l) => l.id)];
    }
    await admin.config('SET', 'slowlog-max-len', '100000');
    for (const part of [ids.length, 1000, 500, BULK_RENEWAL_PART]) {
      const via = new RedisLeaseStore(client, { ...options, scripts: 'functions', bulkRenewalPart: part });
      await admin.config('SET', 'slowlog-log-slower-than', '0');
      await admin.slowlog('RESET');
      const started = performance.now();
      for (let r = 0; r < rounds; r++) {
        const answer = await via.bulkRenew({ pool: POOL, member, active: ids, ended: [] });
        if (!answer.ok || answer.value.renewed !== ids.length) throw new Error(`the report renewed ${answer.ok ? answer.value.renewed : answer.failure} of ${ids.length}`);
      }
      const wallMs = (performance.now() - started) / rounds;
      await admin.config('SET', 'slowlog-log-slower-than', '10000');
      const log = (await admin.slowlog('GET', -1)) as [number, number, number, string[]][];
      const us = log.filter((e) => /^fcall$/i.test(String(e[3][0])) && /bulk.renew/.test(String(e[3][1]))).map((e) => e[2]).sort((a, b) => a - b);
      reports.push({ part: part === ids.length ? `one call (${ids.length})` : String(part), calls: us.length / rounds, maxUs: us.at(-1) ?? NaN, p50Us: us[us.length >> 1] ?? NaN, redisMs: us.reduce((a, b) => a + b, 0) / rounds / 1000, wallMs });
    }
  } finally {
    await stores.functions.close();
    await stores.eval.close();
    admin.disconnect();
    await stop(server);
  }
  const empty = median(figures['empty script']!);
  const pair = (mode: string) => median(figures[`grant (${mode})`]!) + median(figures[`release (${mode})`]!);
  process.stdout.write(`Redis time per call (INFO commandstats), ${held} held in ${POOL}, ${calls} calls a round, median of ${rounds} rounds:\n`);
  for (const [label, xs] of Object.entries(figures)) {
    process.stdout.write(`  ${label.padEnd(34)} ${median(xs).toFixed(1).padStart(6)} µs  (${(median(xs) / empty).toFixed(0)}x an empty script; rounds ${xs.map((x) => x.toFixed(1)).join(', ')})\n`);
  }
  const semaphore = median(figures['redis-semaphore acquire + release']!);
  for (const mode of ['functions', 'eval']) process.stdout.write(`grant + release (${mode}): ${pair(mode).toFixed(1)} µs, ${(pair(mode) / semaphore).toFixed(1)}x redis-semaphore's acquire + release\n`);
  process.stdout.write(`functions / eval, grant + release: ${(pair('functions') / pair('eval')).toFixed(2)}\n`);
  const whole = reports[0]!;
  process.stdout.write(`A gateway's report of ${whole.part.replace(/\D/g, '')} leases (one member), by part size, mean of ${rounds} reports (ratios against one call):\n`);
  for (const r of reports) {
    process.stdout.write(
      `  ${r.part.padEnd(18)} ${r.calls.toFixed(0).padStart(3)} calls; longest call ${(r.maxUs / 1000).toFixed(1).padStart(5)} ms (${(r.maxUs / whole.maxUs).toFixed(2)}), median ${(r.p50Us / 1000).toFixed(1)} ms; Redis ${r.redisMs.toFixed(1)} ms per report (${(r.redisMs / whole.redisMs).toFixed(2)}); report ${r.wallMs.toFixed(1)} ms (${(r.wallMs / whole.wallMs).toFixed(2)})\n`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`bench:lua: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
