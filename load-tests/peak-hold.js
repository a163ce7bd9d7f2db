/**
 * Peak hold: TARGET sessions held for HOLD, kept alive the two ways the
 * broker knows: the clients' heartbeats (each VU renews the sessions it owns)
 * and the gateway agents' bulk renewals (each member reports every session it
 * carries, every AGENT_INTERVAL). setup() brings the pool to TARGET first —
 * creating the sessions, or finding them held after logon-storm.js (a
 * reconnect returns the live lease). The broker's own count is checked every
 * 30 s; nothing may be lost, and no renewal may come back with expiries.
 *
 *   k6 run load-tests/peak-hold.js                         # 60,000 held for 15 minutes
 *   k6 run -e HOLD=1h -e RENEW_INTERVAL=30s load-tests/peak-hold.js
 *
 * Environment: BASE_URL, POOL, TOKENS, CLIENT_ID, TARGET (60000), HOLD (15m), RENEW_INTERVAL (40s,
 * heartbeats), AGENT_INTERVAL (30s, bulk renewals per member), LEASE_TTL (120s), KEEPALIVE_VUS (from the renewals per second: sessions ÷ RENEW_INTERVAL × P95_MS × 2),
 * SETUP_PARALLEL (100 requests at a time while filling), P95_MS / P99_MS, BULK_P99_MS (2000),
 * MAX_ERROR_RATE, MAX_DROPPED.
 */
import exec from 'k6/execution';
import { check } from 'k6';
import { durationFrom, intFrom, k6Duration, numberFrom } from './lib/env.js';
import { renewalIntervalProblem } from './lib/expected.js';
import {
  baseThresholds,
  holdAtStart,
  idsByMember,
  keepAlive,
  keepAliveScenario,
  latencyThresholds,
  metrics,
  verifyCount,
} from './lib/k6/broker.js';
import { scenarioSetup } from './lib/k6/scenario.js';

const { S, tokens, api, n: TARGET, renewInterval: RENEW_INTERVAL, leaseTtl: LEASE_TTL, keepAliveVUs: KEEPALIVE_VUS } = scenarioSetup(__ENV, (f) => open(f), { name: 'TARGET', fallback: 60000 });
const HOLD = durationFrom(__ENV, 'HOLD', '15m', { min: 30 });
const AGENT_INTERVAL = durationFrom(__ENV, 'AGENT_INTERVAL', '30s', { min: 1 });
const PARALLEL = intFrom(__ENV, 'SETUP_PARALLEL', 100, { min: 1, max: 1000 });
const BULK_P99_MS = numberFrom(__ENV, 'BULK_P99_MS', 2000, { min: 1 });
for (const p of [renewalIntervalProblem(RENEW_INTERVAL, LEASE_TTL), renewalIntervalProblem(AGENT_INTERVAL, LEASE_TTL)]) if (p) throw new Error(p);

const MEMBERS = Object.keys(tokens.meta.gatewayAgents);

export const options = {
  batchPerHost: PARALLEL,
  setupTimeout: '30m',
  scenarios: {
    keepalive: keepAliveScenario(KEEPALIVE_VUS, 0, HOLD),
    agents: {
      executor: 'constant-arrival-rate',
      rate: MEMBERS.length,
      timeUnit: k6Duration(AGENT_INTERVAL),
      duration: k6Duration(HOLD),
      preAllocatedVUs: Math.min(MEMBERS.length, 12),
      maxVUs: MEMBERS.length * 2,
      exec: 'agentRenewal',
    },
    count: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '30s', duration: k6Duration(HOLD), preAllocatedVUs: 1, maxVUs: 2, exec: 'checkCount' },
  },
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'keepalive', 'heartbeat'),
    'http_req_duration{scenario:agents,name:bulk-renewal}': [`p(99)<${BULK_P99_MS}`],
    sessions_lost: ['count==0'],
    'checks{scenario:agents}': ['rate==1'],
  },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const started = Date.now();
  const { held, others } = holdAtStart(api, tokens, S, TARGET, PARALLEL);
  const c = held.counts;
  console.log(
    `peak hold: ${TARGET} sessions in ${((Date.now() - started) / 1000).toFixed(1)} s (created ${c.created}, already held ${c.reconnected}, ` +
      `refused ${c.refused}, errors ${c.error}); holding for ${HOLD}s`,
  );
  return { ids: held.ids, members: held.members, activeBefore: others };
}

export function keepAliveSessions(data) {
  keepAlive(api, tokens.employees, S.clientId, {
    slot: exec.scenario.iterationInTest,
    slots: KEEPALIVE_VUS,
    intervalSeconds: RENEW_INTERVAL,
    endAt: exec.scenario.startTime + HOLD * 1000,
    range: () => [0, TARGET],
    seed: (i) => ({ id: data.ids[i], member: data.members[i] }),
  });
}

let byMember = null;

export function agentRenewal(data) {
  if (byMember === null) byMember = idsByMember(data);
  const member = MEMBERS[exec.scenario.iterationInTest % MEMBERS.length];
  const active = byMember[member] || [];
  const res = api.bulkRenew(tokens.meta.gatewayAgents[member], member, active);
  metrics.bulkRenewalIds.add(active.length);
  const ok = check(res, {
    'bulk renewal answered': (r) => r.status === 200,
    'bulk renewal renewed every session it reported': (r) => r.status === 200 && r.json('renewed') === active.length,
    'bulk renewal found nothing unknown or expired': (r) => r.status === 200 && r.json('expired') === 0 && r.json('unknown.#') === 0,
  });
  metrics.unexpected.add(res.status !== 200);
  if (!ok && res.status === 200) metrics.lost.add(res.json('expired') + res.json('unknown.#'));
}

export function checkCount(data) {
  verifyCount(api, tokens.meta.operator, 'held at peak', () => data.activeBefore + TARGET, 5);
}
