/**
 * Overflow: more employees ask than the pool holds. DEMAND employees arrive
 * at ARRIVAL_RATE per second (default 66,000 for 60,000 seats, at 350/s,
 * below the sample's admission rate of 400/s); the clients that got in keep
 * their sessions alive. Then WAITING of those refused ask again, willing to
 * wait (`wait: true`): they get places in line (202), check in for
 * WAITING_DURATION and must never be offered a seat, for none frees, and
 * leave.
 *
 * Exactly the capacity must be granted — never one more. With the sample's
 * crisis headroom, the last 500 prepared employees are crisis staff: the
 * default class fills 59,500 seats and they the last 500. Every other answer
 * must be a documented capacity refusal (pool-full, capacity-reserved,
 * headroom-reserved, agency-at-maximum) with Retry-After. The broker's own
 * count is checked against the capacity model (load-tests/lib/expected.js)
 * and sampled every 10 s against the capacity.
 *
 * Needs a pool nobody else uses, and tokens for DEMAND employees:
 *   npm run loadtest:prepare -- --count 66000
 *   k6 run load-tests/overflow.js
 *
 * Environment: BASE_URL, POOL, TOKENS, CLIENT_ID, DEMAND (66000), ARRIVAL_RATE (350 per second),
 * WAITING (2000), WAITING_DURATION (30s), RENEW_INTERVAL (40s), LEASE_TTL (120s), KEEPALIVE_VUS (from the renewals per second: sessions ÷ RENEW_INTERVAL × P95_MS × 2),
 * VUS / MAX_VUS, P95_MS / P99_MS, MAX_ERROR_RATE, MAX_DROPPED.
 */
import exec from 'k6/execution';
import { check, sleep } from 'k6';
import { durationFrom, intFrom, k6Duration } from './lib/env.js';

import {
  baseThresholds,
  demandOf,
  expectedFor,
  grantOutcome,
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

const { S, tokens, api, n: DEMAND, renewInterval: RENEW_INTERVAL, leaseTtl: LEASE_TTL, keepAliveVUs: KEEPALIVE_VUS } = scenarioSetup(__ENV, (f) => open(f), { name: 'DEMAND', fallback: 66000, min: 2 });
const RATE = intFrom(__ENV, 'ARRIVAL_RATE', 350, { min: 1 });
const WAITING = intFrom(__ENV, 'WAITING', Math.min(2000, Math.floor(DEMAND / 10)), { min: 0, max: DEMAND });
const WAITING_DURATION = durationFrom(__ENV, 'WAITING_DURATION', '30s', { min: 5 });

const ARRIVALS = Math.ceil(DEMAND / RATE);
const GAP = 5;
const WAIT_AT = ARRIVALS + GAP;
const VERDICT_AT = WAIT_AT + WAITING_DURATION + 10;
const RUN = VERDICT_AT + 10;
// The waiters: the last employees of the default class, who arrived when the pool was long full.
const prepared = demandOf(tokens, DEMAND);
const standardCount = DEMAND - prepared.priority.reduce((n, p) => n + p.count, 0);
const WAIT_FROM = Math.max(0, standardCount - WAITING);
// Clients renew what they got; a client refused has nothing to renew (found with GET /v1/grants).
const LAG = 10;

export const options = {
  scenarios: {
    arrivals: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: k6Duration(ARRIVALS),
      preAllocatedVUs: S.preAllocatedVUs,
      maxVUs: S.maxVUs,
      exec: 'arrive',
    },
    keepalive: keepAliveScenario(KEEPALIVE_VUS, 0, RUN),
    waiting: {
      executor: 'constant-arrival-rate',
      rate: Math.max(1, Math.ceil(WAITING / 10)),
      timeUnit: '1s',
      startTime: k6Duration(WAIT_AT),
      duration: '10s',
      preAllocatedVUs: Math.max(1, Math.min(S.maxVUs, WAITING)),
      maxVUs: Math.max(1, Math.min(S.maxVUs * 4, WAITING)),
      gracefulStop: k6Duration(WAITING_DURATION + 10),
      exec: 'waitInLine',
    },
    verdict: onceAt(VERDICT_AT, 'checkVerdict', 60),
    monitor: monitorScenario(RUN),
  },
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'arrivals', 'grant'),
    ...latencyThresholds(S, 'keepalive', 'heartbeat'),
    sessions_lost: ['count==0'],
    grants_claimed: ['count==0'],
    'checks{scenario:arrivals}': ['rate==1'],
    'checks{scenario:waiting}': ['rate==1'],
    'checks{scenario:verdict}': ['rate==1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const snap = readPool(api, tokens.meta.operator);
  if (!snap) throw new Error(`cannot read pool ${S.pool} at ${S.baseUrl}`);
  if (snap.active !== 0) throw new Error(`overflow needs an empty pool; ${S.pool} holds ${snap.active} (wait one lease TTL, or run evening-release.js)`);
  console.log(
    `overflow: ${DEMAND} employees ask for ${snap.capacity} seats at ${RATE}/s (${ARRIVALS}s); ` +
      `the broker should grant ${expectedFor(snap, prepared)}; then ${WAITING} refused ones wait in line for ${WAITING_DURATION}s`,
  );
  return {};
}

export function arrive() {
  const i = exec.scenario.iterationInTest;
  if (i >= DEMAND) return;
  const out = grantOutcome(api.grant(tokens.employees[i].token, S.clientId, 'grant'));
  check(out, {
    'granted, or refused for capacity': (o) =>
      o.kind === 'created' || o.kind === 'reconnected' || (o.kind === 'refused' && o.code !== 'not-entitled' && o.code !== 'employee-at-limit'),
  });
}

export function keepAliveSessions() {
  const started = exec.scenario.startTime;
  keepAlive(api, tokens.employees, S.clientId, {
    slot: exec.scenario.iterationInTest,
    slots: KEEPALIVE_VUS,
    intervalSeconds: RENEW_INTERVAL,
    endAt: started + RUN * 1000,
    range: (now) => [0, Math.min(DEMAND, Math.floor(((now - started) / 1000 - LAG) * RATE))],
    reconnect: 'discover',
  });
}

export function waitInLine() {
  const k = exec.scenario.iterationInTest;
  const i = WAIT_FROM + k;
  if (k >= WAITING || i >= standardCount) return;
  const token = tokens.employees[i].token;
  const out = grantOutcome(api.grantOrWait(token, S.clientId));
  check(out, { 'a refused client asking to wait gets a place in line': (o) => o.kind === 'queued' });
  if (out.kind !== 'queued') return;
  // Check in until the window ends: the pool stays full, so no seat may be offered.
  const until = Date.now() + WAITING_DURATION * 1000;
  let offered = false;
  while (Date.now() < until && !offered) {
    sleep(5);
    const res = api.checkIn(token, out.ticket.id);
    metrics.unexpected.add(res.status !== 200);
    offered = res.status === 200 && res.json('state') === 'offered';
  }
  check(offered, { 'no seat offered while the pool is full': (o) => !o });
  const left = api.leave(token, out.ticket.id);
  metrics.unexpected.add(left.status !== 204);
}

export function checkVerdict() {
  const snap = verifyCount(api, tokens.meta.operator, 'after overflow', (s) => expectedFor(s, prepared), 10);
  if (snap) {
    check(snap, {
      'no member above its maximum': (s) => s.members.every((m) => m.active <= m.maxSessions),
      'no agency above its maximum': (s) => s.agencies.every((a) => a.active <= a.maximum),
      'nobody left waiting or offered': (s) => (s.waiting || 0) === 0 && (s.offered || 0) === 0,
    });
  }
}

export function monitor() {
  readPool(api, tokens.meta.operator);
}
