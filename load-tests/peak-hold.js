/**
 * Peak hold: TARGET sessions held for HOLD, kept alive the two ways the
 * broker knows: the clients' heartbeats (each VU renews the sessions it owns)
 * and the gateway agents' bulk renewals (each member's agent lists the live
 * grants the broker has on it and reports every one of them, every
 * AGENT_INTERVAL: every session it carries, not only those setup() made). setup() brings the pool to TARGET first —
 * creating the sessions, or finding them held after logon-storm.js (a
 * reconnect returns the live lease). The broker's own count is checked every
 * 30 s; nothing may be lost, and no renewal may come back with expiries.
 *
 *   k6 run load-tests/peak-hold.js                         # 60,000 held for 15 minutes
 *   k6 run -e HOLD=1h -e RENEW_INTERVAL=30s load-tests/peak-hold.js
 *
 * Environment: BASE_URL, POOL, TOKENS, CLIENT_ID, TARGET (60000), HOLD (15m), RENEW_INTERVAL (40s,
 * heartbeats), AGENT_INTERVAL (30s, bulk renewals per member), LEASE_TTL (120s), KEEPALIVE_VUS (from the renewals per second: sessions ÷ RENEW_INTERVAL × P95_MS × 2),
 * AGENT_VUS (one per member), SETUP_PARALLEL (100 requests at a time while filling), P95_MS / P99_MS,
 * BULK_P95_MS / BULK_P99_MS (1000 / 2000: the listing and the bulk renewal of one member's share),
 * MAX_ERROR_RATE, MAX_DROPPED.
 */
import exec from 'k6/execution';
import { durationFrom, intFrom, k6Duration, numberFrom } from './lib/env.js';
import { gatewayThresholds } from './lib/keep-alive.js';
import { renewalIntervalProblem } from './lib/expected.js';
import {
  baseThresholds,
  gatewayAgents,
  gatewayAgentsScenario,
  holdAtStart,
  idsByMember,
  keepAlive,
  keepAliveScenario,
  latencyThresholds,
  verifyCount,
} from './lib/k6/broker.js';
import { scenarioSetup } from './lib/k6/scenario.js';

const { S, tokens, api, n: TARGET, renewInterval: RENEW_INTERVAL, leaseTtl: LEASE_TTL, keepAliveVUs: KEEPALIVE_VUS } = scenarioSetup(__ENV, (f) => open(f), { name: 'TARGET', fallback: 60000 });
const HOLD = durationFrom(__ENV, 'HOLD', '15m', { min: 30 });
const AGENT_INTERVAL = durationFrom(__ENV, 'AGENT_INTERVAL', '30s', { min: 1 });
const PARALLEL = intFrom(__ENV, 'SETUP_PARALLEL', 100, { min: 1, max: 1000 });
// Looser than logon-storm's gateway mode (250 / 500): here 1,500 heartbeats/s run beside the agents.
const BULK_P95_MS = numberFrom(__ENV, 'BULK_P95_MS', 1000, { min: 1 });
const BULK_P99_MS = numberFrom(__ENV, 'BULK_P99_MS', 2000, { min: 1 });
for (const p of [renewalIntervalProblem(RENEW_INTERVAL, LEASE_TTL), renewalIntervalProblem(AGENT_INTERVAL, LEASE_TTL)]) if (p) throw new Error(p);

const MEMBERS = Object.keys(tokens.meta.gatewayAgents);
const AGENT_VUS = intFrom(__ENV, 'AGENT_VUS', MEMBERS.length, { min: 1, max: MEMBERS.length });

export const options = {
  batchPerHost: PARALLEL,
  setupTimeout: '30m',
  scenarios: {
    keepalive: keepAliveScenario(KEEPALIVE_VUS, 0, HOLD),
    agents: gatewayAgentsScenario(AGENT_VUS, 0, HOLD, 'agentRenewal'),
    count: { executor: 'constant-arrival-rate', rate: 1, timeUnit: '30s', duration: k6Duration(HOLD), preAllocatedVUs: 1, maxVUs: 2, exec: 'checkCount' },
  },
  thresholds: {
    ...baseThresholds(S),
    ...latencyThresholds(S, 'keepalive', 'heartbeat'),
    ...gatewayThresholds('agents', BULK_P95_MS, BULK_P99_MS),
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

/** This VU's gateway agents: every AGENT_INTERVAL, list every grant on the member and renew them all; what setup() held there must stay listed. */
export function agentRenewal(data) {
  if (byMember === null) byMember = idsByMember(data);
  gatewayAgents(api, {
    agents: tokens.meta.gatewayAgents,
    slot: exec.scenario.iterationInTest,
    slots: AGENT_VUS,
    intervalSeconds: AGENT_INTERVAL,
    endAt: exec.scenario.startTime + HOLD * 1000,
    seed: (member) => byMember[member] || [],
  });
}

export function checkCount(data) {
  verifyCount(api, tokens.meta.operator, 'held at peak', () => data.activeBefore + TARGET, 5);
}
