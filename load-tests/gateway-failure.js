/**
 * Gateway failure at peak: TARGET sessions held and kept alive by their
 * clients; after STEADY one member fails.
 *
 * - MODE=drain: an operator drains it (PUT /v1/pools/{pool}/members/{member}/state).
 *   Its sessions stay (drain ends none) and it gets no new ones; with MOVE=true
 *   its clients move: each ends its session and asks again, landing on another
 *   member if there is room (run with TARGET below capacity − one member, or
 *   the overflow is refused).
 * - MODE=lost: the gateway is gone. Its agent stops renewing and its clients'
 *   heartbeats stop; an operator marks it out-of-service; its leases expire
 *   after one TTL and the sweep reclaims them. Then its clients log on again
 *   and are placed on the other members if there is room, refused otherwise.
 *
 * In every mode the sessions on the other members stay, and the broker's own
 * count must match the capacity model at each step. teardown() puts the
 * member back in service.
 *
 *   k6 run -e MODE=lost load-tests/gateway-failure.js
 *   k6 run -e MODE=drain -e MOVE=true -e TARGET=50000 load-tests/gateway-failure.js
 *
 * Environment: BASE_URL, POOL, TOKENS, CLIENT_ID, TARGET (60000), MODE (drain|lost), MOVE (false),
 * MEMBER (default the first member), STEADY (60s), RENEW_INTERVAL (40s), LEASE_TTL (120s),
 * SWEEP_SLACK (15s: sweep interval and reclaiming), PHASE (30s: moving / logging on again),
 * KEEPALIVE_VUS (from the renewals per second: sessions ÷ RENEW_INTERVAL × P95_MS × 2), SETUP_PARALLEL (100), VUS / MAX_VUS, P95_MS / P99_MS, MAX_ERROR_RATE, MAX_DROPPED.
 */
import exec from 'k6/execution';
import { check } from 'k6';
import { boolFrom, choiceFrom, durationFrom, intFrom, k6Duration, stringFrom } from './lib/env.js';

import {
  baseThresholds,
  demandOf,
  expectedFor,
  grantOutcome,
  holdAtStart,
  keepAlive,
  keepAliveScenario,
  latencyThresholds,
  metrics,
  monitorScenario,
  onceAt,
  readPool,
  verifyCount,
} from './lib/k6/broker.js';
import { scenarioSetup } from './lib/k6/scenario.js';

const { S, tokens, api, n: TARGET, renewInterval: RENEW_INTERVAL, leaseTtl: LEASE_TTL, keepAliveVUs: KEEPALIVE_VUS } = scenarioSetup(__ENV, (f) => open(f), { name: 'TARGET', fallback: 60000 });
const MODE = choiceFrom(__ENV, 'MODE', 'drain', ['drain', 'lost']);
const MOVE = boolFrom(__ENV, 'MOVE', false);
const STEADY = durationFrom(__ENV, 'STEADY', '60s', { min: 10 });
const SWEEP_SLACK = durationFrom(__ENV, 'SWEEP_SLACK', '15s', { min: 0 });
const PHASE = durationFrom(__ENV, 'PHASE', '30s', { min: 5 });
const PARALLEL = intFrom(__ENV, 'SETUP_PARALLEL', 100, { min: 1, max: 1000 });
const MEMBER = stringFrom(__ENV, 'MEMBER', Object.keys(tokens.meta.gatewayAgents)[0]);
if (!tokens.meta.gatewayAgents[MEMBER]) throw new Error(`MEMBER ${MEMBER} is not a member of ${S.pool}`);

// Timeline (seconds from the start, after setup()).
const FAIL_AT = STEADY;
const MOVING = MODE === 'drain' && MOVE;
const REPLACE_AT = MODE === 'lost' ? FAIL_AT + LEASE_TTL + SWEEP_SLACK : FAIL_AT + 5;
const VERDICT_AT = MODE === 'lost' || MOVING ? REPLACE_AT + PHASE + 10 : FAIL_AT + 15;
const RUN = VERDICT_AT + 10;
const replaceRate = Math.max(1, Math.ceil(6000 / PHASE));

const scenarios = {
  keepalive: keepAliveScenario(KEEPALIVE_VUS, 0, RUN),
  failure: onceAt(FAIL_AT, 'fail', 30),
  verdict: onceAt(VERDICT_AT, 'checkVerdict', 60),
  monitor: monitorScenario(RUN),
};
if (MODE === 'lost') scenarios.expired = onceAt(REPLACE_AT - 3, 'checkExpired', 30);
if (MODE === 'lost' || MOVING) {
  scenarios.replace = {
    executor: 'constant-arrival-rate',
    rate: replaceRate,
    timeUnit: '1s',
    startTime: k6Duration(REPLACE_AT),
    duration: k6Duration(PHASE),
    preAllocatedVUs: S.preAllocatedVUs,
    maxVUs: S.maxVUs,
    exec: 'replace',
  };
}

export const options = {
  batchPerHost: PARALLEL,
  setupTimeout: '30m',
  scenarios,
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'keepalive', 'heartbeat'),
    'checks{scenario:failure}': ['rate==1'],
    'checks{scenario:verdict}': ['rate==1'],
    // Sessions of the failed member that expire are the point of MODE=lost, not a loss.
    sessions_lost: ['count==0'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const { held, others } = holdAtStart(api, tokens, S, TARGET, PARALLEL);
  const onMember = [];
  for (let i = 0; i < TARGET; i++) if (held.members[i] === MEMBER) onMember.push(i);
  console.log(`gateway failure (${MODE}${MOVING ? ', clients move' : ''}): ${TARGET} held, ${onMember.length} on ${MEMBER}; it fails ${FAIL_AT}s in`);
  return { ids: held.ids, members: held.members, onMember, others };
}

export function keepAliveSessions(data) {
  const failAtMs = exec.scenario.startTime + FAIL_AT * 1000;
  keepAlive(api, tokens.employees, S.clientId, {
    slot: exec.scenario.iterationInTest,
    slots: KEEPALIVE_VUS,
    intervalSeconds: RENEW_INTERVAL,
    endAt: exec.scenario.startTime + RUN * 1000,
    range: () => [0, TARGET],
    seed: (i) => ({ id: data.ids[i], member: data.members[i] }),
    // A lost gateway's clients have no tunnel left to renew.
    skip: (i, member, now) => MODE === 'lost' && data.members[i] === MEMBER && now >= failAtMs,
  });
}

export function fail() {
  const state = MODE === 'drain' ? 'drain' : 'out-of-service';
  const res = api.setMemberState(tokens.meta.operator, MEMBER, state);
  check(res, { [`operator sets ${MEMBER} to ${state}`]: (r) => r.status === 200 || r.status === 204 });
}

export function checkExpired(data) {
  // The lost member's leases have expired and been reclaimed; the other members' stay.
  verifyCount(api, tokens.meta.operator, 'lost member reclaimed', () => data.others + TARGET - data.onMember.length, SWEEP_SLACK);
}

export function replace(data) {
  const k = exec.scenario.iterationInTest;
  if (k >= data.onMember.length) return;
  const i = data.onMember[k];
  const e = tokens.employees[i];
  if (MOVING) {
    const res = api.release(e.token, data.ids[i]);
    metrics.unexpected.add(res.status !== 204 && res.status !== 404);
    if (res.status === 204) metrics.released.add(1);
  }
  const out = grantOutcome(api.grant(e.token, S.clientId, 'grant'));
  check(out, { 'placed elsewhere or refused for capacity': (o) => (o.grant ? o.grant.member !== MEMBER : o.kind === 'refused') });
}

export function checkVerdict(data) {
  const demand = demandOf(tokens, TARGET);
  const expected = (snap) => {
    if (MODE === 'drain' && !MOVE) return data.others + TARGET; // drain ends no session
    // The failed member is out of service or in drain: the model without it (its state is in the snapshot).
    return data.others + expectedFor(snap, demand);
  };
  const snap = verifyCount(api, tokens.meta.operator, `after ${MEMBER} ${MODE === 'drain' ? 'drained' : 'lost'}`, expected, 10);
  if (!snap) return;
  const m = snap.members.find((x) => x.id === MEMBER);
  check(m, {
    'failed member is out of rotation': (x) => x !== undefined && x.state !== 'active',
    'failed member kept its sessions (drain) or holds none (lost, moved)': (x) =>
      x !== undefined && (MODE === 'drain' && !MOVE ? x.active === data.onMember.length : x.active === 0),
  });
}

export function teardown() {
  const res = api.setMemberState(tokens.meta.operator, MEMBER, 'active');
  if (res.status !== 200 && res.status !== 204) console.warn(`could not put ${MEMBER} back in service (${res.status}): do it by hand`);
}

export function monitor() {
  readPool(api, tokens.meta.operator);
}
