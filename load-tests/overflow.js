/**
 * Overflow: more employees ask than the pool holds. DEMAND employees arrive
 * within ARRIVALS (default 66,000 in 60 s against 60,000 seats); then the last
 * WAITING of them, who were most likely refused, ask again as clients do after
 * Retry-After. Exactly the capacity must be granted — never one more — and
 * every other answer must be a documented refusal (pool-full,
 * capacity-reserved, agency-at-maximum) carrying Retry-After. The broker's
 * own count is checked against the capacity model (load-tests/lib/expected.js)
 * and sampled every 10 s against the capacity.
 *
 * Needs an empty pool and tokens for DEMAND employees:
 *   npm run loadtest:prepare -- --count 66000
 *   k6 run load-tests/overflow.js
 *
 * The whole run stays within one lease TTL (no renewals), so nothing expires
 * and frees a seat while it runs. Environment: BASE_URL, POOL, TOKENS,
 * CLIENT_ID, DEMAND (66000), ARRIVALS (60s), WAITING (6000), WAITING_DURATION (20s),
 * LEASE_TTL (120s), VUS / MAX_VUS, P95_MS / P99_MS, MAX_ERROR_RATE, MAX_DROPPED.
 */
import exec from 'k6/execution';
import { check } from 'k6';
import { commonSettings, durationFrom, intFrom, k6Duration } from './lib/env.js';
import { countByAgency } from './lib/employees.js';
import { expectedHeld } from './lib/expected.js';
import {
  baseThresholds,
  brokerClient,
  checkTokens,
  grantOutcome,
  latencyThresholds,
  loadTokens,
  monitorScenario,
  onceAt,
  readPool,
  verifyCount,
} from './lib/k6/broker.js';

const S = commonSettings(__ENV);
const DEMAND = intFrom(__ENV, 'DEMAND', 66000, { min: 2 });
const ARRIVALS = durationFrom(__ENV, 'ARRIVALS', '60s', { min: 1 });
const WAITING = intFrom(__ENV, 'WAITING', Math.min(6000, DEMAND), { min: 0, max: DEMAND });
const WAITING_DURATION = durationFrom(__ENV, 'WAITING_DURATION', '20s', { min: 1 });
const LEASE_TTL = durationFrom(__ENV, 'LEASE_TTL', '120s', { min: 1 });
const GAP = 5;
const RUN = ARRIVALS + GAP + WAITING_DURATION + GAP;
if (RUN + 10 >= LEASE_TTL) {
  throw new Error(`ARRIVALS + WAITING_DURATION (+${2 * GAP + 10}s) must stay below the lease TTL of ${LEASE_TTL}s, or early grants expire and free seats during the run`);
}

const tokens = loadTokens(() => open(S.tokensFile));
checkTokens(tokens, S.pool, DEMAND);
const api = brokerClient(S.baseUrl, S.pool);

export const options = {
  scenarios: {
    arrivals: {
      executor: 'constant-arrival-rate',
      rate: Math.ceil(DEMAND / ARRIVALS),
      timeUnit: '1s',
      duration: k6Duration(ARRIVALS),
      preAllocatedVUs: S.preAllocatedVUs,
      maxVUs: S.maxVUs,
      exec: 'arrive',
    },
    waiting: {
      executor: 'constant-arrival-rate',
      rate: Math.max(1, Math.ceil(WAITING / WAITING_DURATION)),
      timeUnit: '1s',
      startTime: k6Duration(ARRIVALS + GAP),
      duration: k6Duration(WAITING_DURATION),
      preAllocatedVUs: S.preAllocatedVUs,
      maxVUs: S.maxVUs,
      exec: 'askAgain',
    },
    verdict: onceAt(RUN, 'checkVerdict', 60),
    monitor: monitorScenario(RUN),
  },
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'arrivals', 'grant'),
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
  console.log(`overflow: ${DEMAND} employees ask for ${snap.capacity} seats within ${ARRIVALS}s; then ${WAITING} ask again`);
  return {};
}

function ask(i) {
  const out = grantOutcome(api.grant(tokens.employees[i].token, S.clientId, 'grant'));
  check(out, { 'granted, or refused for capacity': (o) => o.kind === 'created' || o.kind === 'reconnected' || (o.kind === 'refused' && o.code !== 'not-entitled' && o.code !== 'employee-at-limit') });
}

export function arrive() {
  const i = exec.scenario.iterationInTest;
  if (i < DEMAND) ask(i);
}

export function askAgain() {
  const k = exec.scenario.iterationInTest;
  if (k < WAITING) ask(DEMAND - WAITING + k);
}

export function checkVerdict() {
  const agencies = [];
  for (let i = 0; i < DEMAND; i++) agencies.push(tokens.employees[i].agency);
  const demand = countByAgency(agencies);
  const snap = verifyCount(api, tokens.meta.operator, 'after overflow', (s) => expectedHeld(s, demand), 10);
  if (snap) {
    check(snap, {
      'no member above its maximum': (s) => s.members.every((m) => m.active <= m.maxSessions),
      'no agency above its maximum': (s) => s.agencies.every((a) => a.active <= a.maximum),
    });
  }
}

export function monitor() {
  readPool(api, tokens.meta.operator);
}
