/**
 * Morning logon storm: employees log on along a working morning's arrival
 * curve (load-tests/lib/curves.js, 05:30–10:30), compressed into
 * STORM_DURATION, up to TARGET concurrent grants. The sessions are kept alive
 * one of two ways (KEEPALIVE, load-tests/README.md "Keeping sessions alive"):
 *
 * - clients (the default): each client heartbeats its own session every
 *   RENEW_INTERVAL — TARGET ÷ RENEW_INTERVAL requests per second;
 * - gateways: one VU per member plays its gateway agent, which lists the
 *   member's live grants and bulk-renews every one of them every
 *   RENEW_INTERVAL — 2 requests per member per interval, each renewal
 *   carrying the member's share of the sessions. A session an agent saw
 *   that the broker later no longer lists counts as lost.
 *
 * At the peak the broker's own count must be TARGET; latency, unexpected
 * answers, refusals, lost sessions and dropped iterations have thresholds
 * that fail the run.
 *
 *   npm run loadtest:prepare -- --count 60000
 *   k6 run load-tests/logon-storm.js                       # 60,000 in 10 minutes against 127.0.0.1:8080
 *   k6 run -e TARGET=6000 -e STORM_DURATION=2m load-tests/logon-storm.js
 *   k6 run -e KEEPALIVE=gateways load-tests/logon-storm.js  # kept alive by the gateway agents' bulk renewals
 *
 * Environment: BASE_URL, POOL, TOKENS, CLIENT_ID, TARGET (60000), STORM_DURATION (10m),
 * HOLD (2m, at the peak after the storm), RENEW_INTERVAL (40s), LEASE_TTL (120s, the pool's),
 * KEEPALIVE_VUS (from the renewals per second: sessions ÷ RENEW_INTERVAL × P95_MS × 2), VUS / MAX_VUS (logon VUs), P95_MS / P99_MS, MAX_ERROR_RATE, MAX_DROPPED, SETTLE (15s),
 * WAIT_MAX (120s: a logon put in line because it came faster than the broker's admission rate
 * checks in and claims its seat; the default 10-minute storm stays below the sample's 400/s),
 * KEEPALIVE (clients|gateways), with gateways: AGENT_VUS (one per member), BULK_P95_MS / BULK_P99_MS
 * (250 / 500: the listing and the bulk renewal of one member's share, 5,000 ids at 60,000 on 12 members).
 */
import exec from 'k6/execution';
import { check } from 'k6';
import { choiceFrom, durationFrom, intFrom, numberFrom } from './lib/env.js';
import { MORNING_LOGON, arrivalPlan, arrivedBy, k6RampingFields } from './lib/curves.js';
import { renewalIntervalProblem } from './lib/expected.js';
import { gatewayThresholds, KEEPALIVE_MODES, keepAliveLoad } from './lib/keep-alive.js';
import {
  baseThresholds,
  demandOf,
  expectedFor,
  gatewayAgents,
  gatewayAgentsScenario,
  grantOutcome,
  keepAlive,
  keepAliveScenario,
  latencyThresholds,
  monitorScenario,
  onceAt,
  readPool,
  verifyCount,
  waitForSeat,
} from './lib/k6/broker.js';
import { scenarioSetup } from './lib/k6/scenario.js';

const { S, tokens, api, n: TARGET, renewInterval: RENEW_INTERVAL, leaseTtl: LEASE_TTL, keepAliveVUs: KEEPALIVE_VUS } = scenarioSetup(__ENV, (f) => open(f), { name: 'TARGET', fallback: 60000 });
const STORM = durationFrom(__ENV, 'STORM_DURATION', '10m', { min: 10 });
const HOLD = durationFrom(__ENV, 'HOLD', '2m', { min: 0 });
const SETTLE = durationFrom(__ENV, 'SETTLE', '15s', { min: 0 });
// A logon the broker puts in line (faster than its admission rate) waits this long for a seat at most.
const WAIT_MAX = durationFrom(__ENV, 'WAIT_MAX', '120s', { min: 1 });
// Clients start renewing a little after they logged on, so a late logon is never taken for a lost session.
const LAG = Math.min(10, RENEW_INTERVAL / 2);

const KEEPALIVE = choiceFrom(__ENV, 'KEEPALIVE', 'clients', KEEPALIVE_MODES);
const AGENTS = tokens.meta.gatewayAgents;
const MEMBERS = Object.keys(AGENTS);
const AGENT_VUS = intFrom(__ENV, 'AGENT_VUS', MEMBERS.length, { min: 1, max: MEMBERS.length });
const BULK_P95_MS = numberFrom(__ENV, 'BULK_P95_MS', 250, { min: 1 });
const BULK_P99_MS = numberFrom(__ENV, 'BULK_P99_MS', 500, { min: 1 });
const LOAD = keepAliveLoad(KEEPALIVE, TARGET, MEMBERS.length, RENEW_INTERVAL);

const logons = arrivalPlan(MORNING_LOGON, { total: TARGET, durationSeconds: STORM });
const RUN = STORM + SETTLE + HOLD;

// Clients heartbeat their own sessions, or each member's gateway agent renews all it carries.
const keepAliveScenarios =
  KEEPALIVE === 'clients' ? { keepalive: keepAliveScenario(KEEPALIVE_VUS, 0, RUN) } : { agents: gatewayAgentsScenario(AGENT_VUS, 0, RUN) };
const keepAliveThresholds =
  KEEPALIVE === 'clients'
    ? latencyThresholds(S, 'keepalive', 'heartbeat')
    : { ...gatewayThresholds('agents', BULK_P95_MS, BULK_P99_MS), 'checks{scenario:agents}': ['rate==1'] };

export const options = {
  scenarios: {
    logons: {
      executor: 'ramping-arrival-rate',
      ...k6RampingFields(logons),
      preAllocatedVUs: S.preAllocatedVUs,
      maxVUs: S.maxVUs,
      gracefulStop: '30s',
      exec: 'logon',
    },
    ...keepAliveScenarios,
    peak: onceAt(STORM + 5, 'checkPeak', SETTLE + 60),
    monitor: monitorScenario(RUN),
  },
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'logons', 'grant'),
    ...keepAliveThresholds,
    'grants_refused{scenario:logons}': ['count==0'],
    sessions_lost: ['count==0'],
    'checks{scenario:logons}': ['rate==1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const snap = readPool(api, tokens.meta.operator);
  if (!snap) throw new Error(`cannot read pool ${S.pool} at ${S.baseUrl}: is the broker running, and are the tokens its own?`);
  if (snap.leaseTtlSeconds && snap.leaseTtlSeconds !== LEASE_TTL) {
    const p = renewalIntervalProblem(RENEW_INTERVAL, snap.leaseTtlSeconds);
    if (p) throw new Error(`${p} (set RENEW_INTERVAL)`);
  }
  console.log(
    `logon storm: ${TARGET} employees in ${STORM}s (${logons.compression.toFixed(1)}x the real morning), peak ${logons.peakPerSecond.toFixed(0)} logons/s; ` +
      `pool ${S.pool} has capacity ${snap.capacity}, ${snap.active} active before the storm; ` +
      `kept alive by the ${KEEPALIVE} (${LOAD.requestsPerSecond.toFixed(1)} requests/s${KEEPALIVE === 'gateways' ? `, ${LOAD.idsPerRenewal} ids per bulk renewal` : ''})`,
  );
  return { activeBefore: snap.active };
}

export function logon() {
  const i = exec.scenario.iterationInTest;
  if (i >= TARGET) return; // k6 rounds rates up; the plan starts a few more iterations than employees
  const token = tokens.employees[i].token;
  const out = grantOutcome(api.grant(token, S.clientId, 'grant'));
  // Above the broker's admission rate a logon waits in line (202) instead of failing: check in, then claim.
  const granted = out.kind === 'queued' ? waitForSeat(api, token, out.ticket.id, WAIT_MAX, 5) !== null : out.kind === 'created' || out.kind === 'reconnected';
  check(granted, { 'logon granted': (g) => g });
}

export function keepAliveSessions() {
  const started = exec.scenario.startTime;
  keepAlive(api, tokens.employees, S.clientId, {
    slot: exec.scenario.iterationInTest,
    slots: KEEPALIVE_VUS,
    intervalSeconds: RENEW_INTERVAL,
    endAt: started + RUN * 1000,
    range: (now) => [0, arrivedBy(MORNING_LOGON, TARGET, (now - started) / 1000 - LAG, STORM)],
  });
}

/** KEEPALIVE=gateways: this VU's members' agents list and bulk-renew every grant on their member, every RENEW_INTERVAL. */
export function gatewayKeepAlive() {
  gatewayAgents(api, {
    agents: AGENTS,
    slot: exec.scenario.iterationInTest,
    slots: AGENT_VUS,
    intervalSeconds: RENEW_INTERVAL,
    endAt: exec.scenario.startTime + RUN * 1000,
  });
}

export function checkPeak(data) {
  const demand = demandOf(tokens, TARGET);
  verifyCount(api, tokens.meta.operator, 'peak after the storm', (snap) => data.activeBefore + expectedFor(snap, demand), SETTLE);
}

export function monitor() {
  readPool(api, tokens.meta.operator);
}
