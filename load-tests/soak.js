/**
 * Soak: TARGET sessions held for SOAK (hours) while clients keep them alive
 * and a steady churn of CHURN employees per second log off and on again (a
 * reconnect finds the live grant, a release ends it, a new grant takes its
 * place). Every minute the broker's count must stay at TARGET (within the
 * churn in flight) and its resident memory is sampled from /metrics, so a
 * leak shows as a rising broker_rss_bytes. Nothing may be lost.
 *
 *   k6 run load-tests/soak.js                               # 30,000 held for 2 hours, 20 churns/s
 *   k6 run -e TARGET=60000 -e SOAK=8h -e CHURN=50 load-tests/soak.js
 *
 * Prepare tokens valid for longer than the run (npm run loadtest:prepare -- --ttl 12h).
 * Environment: BASE_URL, POOL, TOKENS, CLIENT_ID, TARGET (30000), SOAK (2h), CHURN (20 per second),
 * RENEW_INTERVAL (40s), LEASE_TTL (120s), KEEPALIVE_VUS (from the renewals per second: sessions ÷ RENEW_INTERVAL × P95_MS × 2), SETUP_PARALLEL (100),
 * VUS / MAX_VUS, P95_MS / P99_MS, MAX_ERROR_RATE, MAX_DROPPED.
 */
import http from 'k6/http';
import exec from 'k6/execution';
import { check } from 'k6';
import { Gauge } from 'k6/metrics';
import { durationFrom, intFrom, k6Duration } from './lib/env.js';

import {
  baseThresholds,
  grantOutcome,
  holdAtStart,
  keepAlive,
  keepAliveScenario,
  latencyThresholds,
  metrics,
  verifyCount,
} from './lib/k6/broker.js';
import { scenarioSetup } from './lib/k6/scenario.js';

const { S, tokens, api, n: TARGET, renewInterval: RENEW_INTERVAL, leaseTtl: LEASE_TTL, keepAliveVUs: KEEPALIVE_VUS } = scenarioSetup(__ENV, (f) => open(f), { name: 'TARGET', fallback: 30000 });
const SOAK = durationFrom(__ENV, 'SOAK', '2h', { min: 60 });
const CHURN = intFrom(__ENV, 'CHURN', 20, { min: 0 });
const PARALLEL = intFrom(__ENV, 'SETUP_PARALLEL', 100, { min: 1, max: 1000 });

if (Date.parse(tokens.meta.expiresAt) < Date.now() + (SOAK + 3600) * 1000) {
  throw new Error(`the tokens expire at ${tokens.meta.expiresAt}, before the soak ends: prepare them with a longer --ttl`);
}
const brokerRss = new Gauge('broker_rss_bytes');

const scenarios = {
  keepalive: keepAliveScenario(KEEPALIVE_VUS, 0, SOAK),
  count: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '1m', duration: k6Duration(SOAK), preAllocatedVUs: 1, maxVUs: 2, exec: 'checkCount' },
};
if (CHURN > 0) {
  scenarios.churn = {
    executor: 'constant-arrival-rate',
    rate: CHURN,
    timeUnit: '1s',
    duration: k6Duration(SOAK),
    preAllocatedVUs: S.preAllocatedVUs,
    maxVUs: S.maxVUs,
    exec: 'churn',
  };
}

export const options = {
  batchPerHost: PARALLEL,
  setupTimeout: '30m',
  scenarios,
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'keepalive', 'heartbeat'),
    ...latencyThresholds(S, 'churn', 'grant'),
    ...latencyThresholds(S, 'churn', 'release'),
    sessions_lost: ['count==0'],
    'checks{scenario:churn}': ['rate>=0.999'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const { held, others } = holdAtStart(api, tokens, S, TARGET, PARALLEL);
  console.log(`soak: ${TARGET} sessions held for ${SOAK}s with ${CHURN} logoff+logon per second`);
  return { ids: held.ids, members: held.members, others };
}

export function keepAliveSessions(data) {
  keepAlive(api, tokens.employees, S.clientId, {
    slot: exec.scenario.iterationInTest,
    slots: KEEPALIVE_VUS,
    intervalSeconds: RENEW_INTERVAL,
    endAt: exec.scenario.startTime + SOAK * 1000,
    range: () => [0, TARGET],
    seed: (i) => ({ id: data.ids[i], member: data.members[i] }),
  });
}

export function churn() {
  // A stride coprime with most sizes walks through all employees before repeating one.
  const i = (exec.scenario.iterationInTest * 7919) % TARGET;
  const e = tokens.employees[i];
  const found = grantOutcome(api.grant(e.token, S.clientId, 'find'));
  if (!found.grant) return;
  const res = api.release(e.token, found.grant.id);
  metrics.unexpected.add(res.status !== 204 && res.status !== 404);
  if (res.status === 204) metrics.released.add(1);
  const again = grantOutcome(api.grant(e.token, S.clientId, 'grant'));
  check(again, { 'logged on again': (o) => o.kind === 'created' || o.kind === 'reconnected' });
}

export function checkCount(data) {
  verifyCount(api, tokens.meta.operator, 'held during the soak', () => data.others + TARGET, 5, Math.max(5, CHURN * 2));
  const res = http.get(`${S.baseUrl}/metrics`, { tags: { name: 'metrics' } });
  const m = res.status === 200 ? /^process_resident_memory_bytes\s+([0-9.e+]+)/m.exec(res.body) : null;
  if (m) brokerRss.add(Number(m[1]));
}
