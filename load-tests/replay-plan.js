/**
 * Capacity-plan replay: plays one simulated day of `npm run plan` against a
 * running broker, compressed in time, and writes what the broker did so that
 * `npm run plan:compare` can set it beside what the simulation predicted.
 *
 * Every session request of the day (both pools) is played at its time divided
 * by COMPRESS: it asks for a grant as its synthetic employee, holds it for its
 * compressed duration (heartbeating every HEARTBEAT_INTERVAL while it holds
 * longer than that), then releases it; a refused one comes back after its own
 * retry delays from the schedule, or gives up — as in the simulation. The
 * requests are split over LANES virtual users by employee (one
 * `per-vu-iterations` iteration each), so nobody acts twice at once.
 *
 *   npm run plan -- scenarios/statenet-60k.yaml        # prints the two prepare commands below with the right counts
 *   npm run loadtest:prepare -- --pool vpn-statenet --count <n> --out load-tests/.data/replay-tokens-vpn-statenet.json
 *   npm run loadtest:prepare -- --pool vdi-desktop --count <n> --out load-tests/.data/replay-tokens-vdi-desktop.json
 *   k6 run -e SCHEDULE=../plan-output/statenet-60k/replay-schedule.json load-tests/replay-plan.js
 *   npm run plan:compare -- plan-output/statenet-60k/replay-schedule.json replay-result.json
 *
 * The broker must be fresh (no sessions in the pools) and configured with the
 * plan's capacities (config/broker.yaml is). Relative paths (SCHEDULE,
 * TOKENS) are resolved by k6 from this script's folder; RESULT from where k6
 * runs.
 *
 * Environment: SCHEDULE (required), BASE_URL, TOKENS (.data/replay-tokens-{pool}.json), CLIENT_ID,
 * COMPRESS (the schedule's, 120: a day in 12 minutes), LANES (200), HEARTBEAT_INTERVAL (40s),
 * START_DELAY (10s), RESULT (replay-result.json), LATE_P95_MS (1000), MAX_ERROR_RATE.
 */
import { sleep } from 'k6';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';
import { Counter, Trend } from 'k6/metrics';
import { commonSettings, durationFrom, intFrom, k6Duration, numberFrom, stringFrom } from './lib/env.js';
import { brokerClient, grantOutcome, metrics, TOKENS_FORMAT } from './lib/k6/broker.js';
import { checkSchedule, lastEventSeconds, splitLanes } from './lib/replay/schedule.js';
import { replayLane } from './lib/replay/driver.js';
import { buildResult, counterNames, recordTally } from './lib/replay/summary.js';

const S = commonSettings(__ENV);
const SCHEDULE_FILE = stringFrom(__ENV, 'SCHEDULE', '');
if (SCHEDULE_FILE === '') throw new Error('SCHEDULE must name the replay-schedule.json written by npm run plan (relative to load-tests/)');
const TOKENS = stringFrom(__ENV, 'TOKENS', '.data/replay-tokens-{pool}.json');
const LANES = intFrom(__ENV, 'LANES', 200, { min: 1, max: 5000 });
const HEARTBEAT = durationFrom(__ENV, 'HEARTBEAT_INTERVAL', '40s', { min: 1 });
const START_DELAY = durationFrom(__ENV, 'START_DELAY', '10s', { min: 0 });
const RESULT = stringFrom(__ENV, 'RESULT', 'replay-result.json');
const LATE_P95_MS = numberFrom(__ENV, 'LATE_P95_MS', 1000, { min: 1 });

// The schedule without its sessions, and the sessions already split by lane: one copy for all VUs.
const head = new SharedArray('replay-head', function () {
  const s = checkSchedule(JSON.parse(open(SCHEDULE_FILE)));
  const last = lastEventSeconds(s);
  delete s.sessions;
  s.last = last;
  return [s];
})[0];
const lanes = new SharedArray('replay-lanes', function () {
  return splitLanes(checkSchedule(JSON.parse(open(SCHEDULE_FILE))), LANES);
});
const COMPRESS = numberFrom(__ENV, 'COMPRESS', head.compress, { min: 1 });

function tokensPath(pool) {
  return TOKENS.replace('{pool}', pool);
}

function readTokens(pool) {
  const f = JSON.parse(open(tokensPath(pool.id)));
  const again = `npm run loadtest:prepare -- --pool ${pool.id} --count ${pool.employees} --out load-tests/${tokensPath(pool.id)}`;
  if (f.format !== TOKENS_FORMAT) throw new Error(`${tokensPath(pool.id)} is not a tokens file of ${TOKENS_FORMAT}: ${again}`);
  if (f.pool !== pool.id) throw new Error(`${tokensPath(pool.id)} holds tokens for pool ${f.pool}, not ${pool.id}: ${again}`);
  if (f.employees.length < pool.employees) throw new Error(`the schedule needs ${pool.employees} employees of ${pool.id}, ${tokensPath(pool.id)} has ${f.employees.length}: ${again}`);
  if (Date.parse(f.expiresAt) < Date.now() + ((START_DELAY + head.last / COMPRESS) * 1000 + 5 * 60 * 1000)) throw new Error(`the tokens in ${tokensPath(pool.id)} expire before the replay ends: ${again}`);
  return f;
}

const employeeTokens = head.pools.map((pool) => new SharedArray(`replay-tokens-${pool.id}`, () => readTokens(pool).employees.map((e) => e.token)));
const operatorTokens = new SharedArray('replay-operators', () => head.pools.map((pool) => readTokens(pool).operator));
const apis = head.pools.map((pool) => brokerClient(S.baseUrl, pool.id));

const counters = {};
for (const name of counterNames(head.pools.length)) counters[name] = new Counter(name);
const lateness = new Trend('replay_lateness', true);

export const options = {
  setupTimeout: '2m',
  scenarios: {
    replay: {
      executor: 'per-vu-iterations',
      vus: LANES,
      iterations: 1,
      maxDuration: k6Duration(Math.ceil(START_DELAY + head.last / COMPRESS + 120)),
      gracefulStop: '30s',
      exec: 'replay',
    },
  },
  thresholds: {
    unexpected_responses: [`rate<=${S.maxErrorRate}`],
    replay_lateness: [`p(95)<${LATE_P95_MS}`],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const capacities = head.pools.map((pool, p) => {
    const res = apis[p].pool(operatorTokens[p]);
    if (res.status !== 200) throw new Error(`cannot read pool ${pool.id} at ${S.baseUrl} (HTTP ${res.status})`);
    const snap = res.json();
    if (snap.active > 0) console.warn(`pool ${pool.id} already holds ${snap.active} sessions: the replay will be refused more than the plan predicts`);
    if (snap.capacity !== pool.capacity) console.warn(`pool ${pool.id} has capacity ${snap.capacity}, the plan's prediction is for ${pool.capacity}`);
    return snap.capacity;
  });
  console.log(
    `replaying day ${head.day} of ${head.scenario} (${head.variant}): ${head.pools.map((p) => `${p.id} ${p.sessions} requests`).join(', ')}; ` +
      `${Math.round(head.last)} s of the day in ${Math.round(head.last / COMPRESS)} s (×${COMPRESS}), ${LANES} lanes`,
  );
  return { startMs: Date.now() + START_DELAY * 1000, capacities };
}

export function replay(data) {
  const lane = lanes[exec.vu.idInTest - 1] || [];
  const tally = replayLane(
    lane,
    { tickSeconds: head.pools.map((p) => p.tickSeconds), compress: COMPRESS, heartbeatSeconds: HEARTBEAT, startMs: data.startMs },
    {
      now: () => Date.now(),
      sleep: (seconds) => sleep(seconds),
      acquire(p, e) {
        const res = apis[p].grant(employeeTokens[p][e], S.clientId, 'replay-grant');
        // 202: the pool has a waiting room and queued the request; the plan models refusals, not waiting.
        if (res.status === 202) return { kind: 'queued' };
        const out = grantOutcome(res);
        if (out.kind === 'created') return { kind: 'granted', id: out.grant.id };
        if (out.kind === 'reconnected') return { kind: 'reconnected', id: out.grant.id };
        if (out.kind === 'refused') return { kind: 'refused', code: out.code };
        return { kind: 'error' };
      },
      release(p, e, id) {
        const res = apis[p].release(employeeTokens[p][e], id);
        metrics.unexpected.add(!(res.status === 200 || res.status === 204 || res.status === 404 || res.status === 410));
        if (res.status === 200 || res.status === 204) metrics.released.add(1);
      },
      heartbeat(p, e, id) {
        const res = apis[p].heartbeat(employeeTokens[p][e], id);
        metrics.unexpected.add(!(res.status === 200 || res.status === 404 || res.status === 410));
        if (res.status === 200) metrics.renewed.add(1);
        else metrics.lost.add(1);
        return res.status === 200;
      },
      late: (ms) => lateness.add(ms),
    },
  );
  recordTally(tally, (name, n) => {
    if (n > 0) counters[name].add(n);
  });
}

export function handleSummary(data) {
  const result = buildResult(head, { compress: COMPRESS, lanes: LANES, baseUrl: S.baseUrl, capacities: data.setup_data ? data.setup_data.capacities : null }, data.metrics);
  const lines = result.pools.map((p) => {
    const refused = Object.keys(p.refused).map((c) => `${c} ${p.refused[c]}`).join(', ') || 'none';
    return `  ${p.id}: ${p.attempts} requests, ${p.admitted} admitted, refused: ${refused}, queued ${p.queued}, gave up ${p.gaveUp}, errors ${p.errors}`;
  });
  return {
    [RESULT]: JSON.stringify(result, null, 2) + '\n',
    stdout: `\nreplay of ${head.scenario}, day ${head.day}:\n${lines.join('\n')}\nwrote ${RESULT}; compare: npm run plan:compare -- <replay-schedule.json> ${RESULT}\n`,
  };
}
