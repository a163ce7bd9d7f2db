/**
 * Evening release: TARGET held sessions end along a working evening's
 * logoff curve (14:30–19:30, load-tests/lib/curves.js) compressed into
 * RELEASE_DURATION; the clients not gone yet keep heartbeating. setup()
 * finds the sessions held (after logon-storm.js or peak-hold.js, a
 * reconnect returns each live lease) or creates them. At the end the broker
 * must count none of them, every release answered 204.
 *
 *   k6 run load-tests/evening-release.js
 *   k6 run -e TARGET=6000 -e RELEASE_DURATION=2m load-tests/evening-release.js
 *
 * Environment: BASE_URL, POOL, TOKENS, CLIENT_ID, TARGET (60000), RELEASE_DURATION (10m),
 * RENEW_INTERVAL (40s), LEASE_TTL (120s), KEEPALIVE_VUS (from the renewals per second: sessions ÷ RENEW_INTERVAL × P95_MS × 2), SETUP_PARALLEL (100), SETTLE (10s),
 * VUS / MAX_VUS, P95_MS / P99_MS, MAX_ERROR_RATE, MAX_DROPPED.
 */
import exec from 'k6/execution';
import { check } from 'k6';
import { durationFrom, intFrom } from './lib/env.js';
import { EVENING_RELEASE, arrivalPlan, arrivedBy, k6RampingFields } from './lib/curves.js';

import {
  baseThresholds,
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
const DURATION = durationFrom(__ENV, 'RELEASE_DURATION', '10m', { min: 10 });
const PARALLEL = intFrom(__ENV, 'SETUP_PARALLEL', 100, { min: 1, max: 1000 });
const SETTLE = durationFrom(__ENV, 'SETTLE', '10s', { min: 0 });
// Clients stop renewing a little before they log off, so a heartbeat never races its own release.
const LEAD = Math.min(15, RENEW_INTERVAL / 2);

const plan = arrivalPlan(EVENING_RELEASE, { total: TARGET, durationSeconds: DURATION });

export const options = {
  batchPerHost: PARALLEL,
  setupTimeout: '30m',
  scenarios: {
    releases: {
      executor: 'ramping-arrival-rate',
      ...k6RampingFields(plan),
      preAllocatedVUs: S.preAllocatedVUs,
      maxVUs: S.maxVUs,
      gracefulStop: '30s',
      exec: 'logoff',
    },
    keepalive: keepAliveScenario(KEEPALIVE_VUS, 0, DURATION),
    verdict: onceAt(DURATION + 5, 'checkVerdict', SETTLE + 60),
    monitor: monitorScenario(DURATION + SETTLE),
  },
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'releases', 'release'),
    ...latencyThresholds(S, 'keepalive', 'heartbeat'),
    sessions_lost: ['count==0'],
    'checks{scenario:releases}': ['rate==1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const { held, others } = holdAtStart(api, tokens, S, TARGET, PARALLEL);
  console.log(`evening release: ${TARGET} sessions end in ${DURATION}s (${plan.compression.toFixed(1)}x the real evening), peak ${plan.peakPerSecond.toFixed(0)}/s`);
  return { ids: held.ids, members: held.members, others };
}

export function logoff(data) {
  const i = exec.scenario.iterationInTest;
  if (i >= TARGET) return;
  const res = api.release(tokens.employees[i].token, data.ids[i]);
  const ok = check(res, { 'session released': (r) => r.status === 204 });
  metrics.unexpected.add(res.status !== 204 && res.status !== 404 && res.status !== 410);
  if (ok) metrics.released.add(1);
  if (res.status === 410) metrics.lost.add(1);
}

export function keepAliveSessions(data) {
  const started = exec.scenario.startTime;
  keepAlive(api, tokens.employees, S.clientId, {
    slot: exec.scenario.iterationInTest,
    slots: KEEPALIVE_VUS,
    intervalSeconds: RENEW_INTERVAL,
    endAt: started + DURATION * 1000,
    range: (now) => [arrivedBy(EVENING_RELEASE, TARGET, (now - started) / 1000 + LEAD, DURATION), TARGET],
    seed: (i) => ({ id: data.ids[i], member: data.members[i] }),
    reconnect: false,
  });
}

export function checkVerdict(data) {
  verifyCount(api, tokens.meta.operator, 'after the evening release', () => data.others, SETTLE);
}

export function monitor() {
  readPool(api, tokens.meta.operator);
}
