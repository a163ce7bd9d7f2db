/**
 * What every k6 scenario shares: the prepared tokens, a small client for the
 * broker's API, the custom metrics, renewing a session, holding many sessions
 * at once and checking the broker's own count. k6 only (imports k6 modules);
 * the plain helpers beside it in load-tests/lib/ are what jest tests.
 */
import http from 'k6/http';
import { check, sleep } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import { k6Duration } from '../env.js';
import { expectedHeldByClass } from '../expected.js';
import { agentRound } from '../keep-alive.js';

export const TOKENS_FORMAT = 'telework-broker-loadtest-tokens/1';

/** Admission refusals (docs/admission.md); anything else from POST /v1/grants is unexpected. */
export const REFUSAL_CODES = [
  'not-entitled',
  'employee-at-limit',
  'agency-at-maximum',
  'pool-unavailable',
  'pool-full',
  'capacity-reserved',
  'headroom-reserved',
  'waiting-room-full',
];
/** Refusals about capacity: they carry Retry-After, and a client may wait in line instead. */
export const CAPACITY_CODES = ['agency-at-maximum', 'pool-unavailable', 'pool-full', 'capacity-reserved', 'headroom-reserved', 'waiting-room-full'];

export const metrics = {
  /** Answers no scenario expects: 5xx other than capacity refusals, 401, transport errors, malformed bodies. */
  unexpected: new Rate('unexpected_responses'),
  created: new Counter('grants_created'),
  reconnected: new Counter('grants_reconnected'),
  refused: new Counter('grants_refused'),
  /** Answered 202: a place in the waiting room (asked for with wait, or admissions are paced). */
  queued: new Counter('grants_queued'),
  /** Seats claimed after waiting in line. */
  claimed: new Counter('grants_claimed'),
  renewed: new Counter('sessions_renewed'),
  released: new Counter('sessions_released'),
  /** A session the scenario kept alive was gone (expired or reclaimed) when renewed. */
  lost: new Counter('sessions_lost'),
  brokerActive: new Gauge('broker_active_sessions'),
  /** 1 when the broker's count of active sessions is the one the scenario expects. */
  countOk: new Rate('broker_count_ok'),
  /** 1 when the broker holds no more than its capacity. */
  withinCapacity: new Rate('broker_within_capacity'),
  bulkRenewalIds: new Trend('bulk_renewal_ids'),
};

/**
 * Loads the file written by `npm run loadtest:prepare`. `read` is `() => open(path)`,
 * called in the main script so the path is relative to it. The employees are
 * a SharedArray: one copy in memory for all VUs.
 */
export function loadTokens(read) {
  const meta = new SharedArray('loadtest-meta', function () {
    const f = JSON.parse(read());
    if (f.format !== TOKENS_FORMAT) throw new Error(`not a tokens file of ${TOKENS_FORMAT}: run npm run loadtest:prepare`);
    return [
      {
        pool: f.pool,
        expiresAt: f.expiresAt,
        operator: f.operator,
        gatewayAgents: f.gatewayAgents,
        allocation: f.allocation,
        priorities: f.priorities || [],
        count: f.employees.length,
      },
    ];
  })[0];
  const employees = new SharedArray('loadtest-employees', function () {
    return JSON.parse(read()).employees;
  });
  return { meta, employees };
}

/**
 * The demand of employees [0, n): agencies of the default class, and the
 * priority groups (prepared last, for the pool's headroom) that fall below n.
 */
export function demandOf(tokens, n) {
  let standardEnd = n;
  const priority = [];
  for (const p of tokens.meta.priorities) {
    if (p.from >= n) continue;
    standardEnd = Math.min(standardEnd, p.from);
    priority.push({ rank: p.rank, count: Math.min(n, p.from + p.count) - p.from });
  }
  const byAgency = {};
  for (let i = 0; i < standardEnd; i++) {
    const a = tokens.employees[i].agency;
    byAgency[a] = (byAgency[a] || 0) + 1;
  }
  return { byAgency, priority };
}

/** Sessions the broker should hold once the demand of demandOf() is decided (load-tests/lib/expected.js). */
export function expectedFor(snapshot, demand, without) {
  return expectedHeldByClass(snapshot, demand.byAgency, demand.priority, without);
}

/** Stops the run early with a clear sentence when the tokens do not fit the settings. */
export function checkTokens(tokens, pool, needed) {
  if (tokens.meta.pool !== pool) throw new Error(`the tokens were prepared for pool ${tokens.meta.pool}, not ${pool}`);
  if (tokens.meta.count < needed) {
    throw new Error(`the scenario needs ${needed} employees, the tokens file has ${tokens.meta.count}: npm run loadtest:prepare -- --count ${needed} --pool ${pool}`);
  }
  if (Date.parse(tokens.meta.expiresAt) < Date.now() + 5 * 60 * 1000) throw new Error(`the tokens expire at ${tokens.meta.expiresAt}: prepare them again`);
}

const refusalStatuses = http.expectedStatuses({ min: 200, max: 299 }, 403, 409, 429, 503);
const renewalStatuses = http.expectedStatuses({ min: 200, max: 299 }, 404, 410);

/** A client for one pool of one broker. Every request is tagged with an operation `name`, never with a grant id. */
export function brokerClient(baseUrl, pool) {
  const headers = (token) => ({ Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' });
  return {
    poolId: pool,
    grant(token, clientId, name) {
      return http.post(`${baseUrl}/v1/grants`, JSON.stringify({ pool, clientId }), {
        headers: headers(token),
        tags: { name: name || 'grant' },
        responseCallback: refusalStatuses,
      });
    },
    heartbeat(token, id) {
      return http.post(`${baseUrl}/v1/grants/${id}/heartbeat`, null, { headers: headers(token), tags: { name: 'heartbeat' }, responseCallback: renewalStatuses });
    },
    release(token, id) {
      return http.del(`${baseUrl}/v1/grants/${id}`, null, { headers: headers(token), tags: { name: 'release' }, responseCallback: renewalStatuses });
    },
    mine(token) {
      return http.get(`${baseUrl}/v1/grants`, { headers: headers(token), tags: { name: 'my-grants' } });
    },
    pool(token) {
      return http.get(`${baseUrl}/v1/pools/${pool}`, { headers: headers(token), tags: { name: 'pool' } });
    },
    /** The live grants the broker has on one member (its gateway agent's token): `{ pool, member, count, grants: [{ id, expiresAt }] }`. */
    listMemberGrants(token, member) {
      return http.get(`${baseUrl}/v1/pools/${pool}/members/${member}/grants`, { headers: headers(token), tags: { name: 'member-grants' }, timeout: '60s' });
    },
    bulkRenew(token, member, active, ended) {
      return http.post(`${baseUrl}/v1/pools/${pool}/members/${member}/renewals`, JSON.stringify({ active, ended: ended || [] }), {
        headers: headers(token),
        tags: { name: 'bulk-renewal' },
        timeout: '60s',
      });
    },
    setMemberState(token, member, state) {
      return http.put(`${baseUrl}/v1/pools/${pool}/members/${member}/state`, JSON.stringify({ state }), { headers: headers(token), tags: { name: 'member-state' } });
    },
    grantRequest(token, clientId) {
      return ['POST', `${baseUrl}/v1/grants`, JSON.stringify({ pool, clientId }), { headers: headers(token), tags: { name: 'hold' }, responseCallback: refusalStatuses }];
    },
    /** Asks for a seat, waiting in line (202 with a ticket) rather than being refused when there is none. */
    grantOrWait(token, clientId) {
      return http.post(`${baseUrl}/v1/grants`, JSON.stringify({ pool, clientId, wait: true }), {
        headers: headers(token),
        tags: { name: 'grant' },
        responseCallback: refusalStatuses,
      });
    },
    checkIn(token, ticket) {
      return http.post(`${baseUrl}/v1/waiting/${ticket}/check-in`, null, { headers: headers(token), tags: { name: 'check-in' }, responseCallback: renewalStatuses });
    },
    claim(token, ticket) {
      return http.post(`${baseUrl}/v1/waiting/${ticket}/claim`, null, { headers: headers(token), tags: { name: 'claim' }, responseCallback: renewalStatuses });
    },
    leave(token, ticket) {
      return http.del(`${baseUrl}/v1/waiting/${ticket}`, null, { headers: headers(token), tags: { name: 'leave' }, responseCallback: renewalStatuses });
    },
  };
}

function problemCode(res) {
  try {
    return res.json('code');
  } catch (e) {
    return undefined;
  }
}

/**
 * Classifies an answer to POST /v1/grants and records it:
 * `{ kind: 'created' | 'reconnected', grant }`, `{ kind: 'queued', ticket }`,
 * `{ kind: 'refused', code }` or `{ kind: 'error', status }`.
 */
export function grantOutcome(res) {
  if (res.status === 202) {
    let ticket = null;
    try {
      ticket = res.json();
    } catch (e) {
      ticket = null;
    }
    const ok = ticket !== null && typeof ticket.id === 'string';
    metrics.unexpected.add(!ok);
    if (!ok) return { kind: 'error', status: res.status };
    metrics.queued.add(1, { reason: String(ticket.reason) });
    return { kind: 'queued', ticket };
  }
  if (res.status === 201 || res.status === 200) {
    let grant;
    try {
      grant = res.json();
    } catch (e) {
      grant = null;
    }
    const ok = grant !== null && typeof grant.id === 'string' && typeof grant.member === 'string';
    metrics.unexpected.add(!ok);
    if (!ok) return { kind: 'error', status: res.status };
    if (res.status === 201) metrics.created.add(1);
    else metrics.reconnected.add(1);
    return { kind: res.status === 201 ? 'created' : 'reconnected', grant };
  }
  const code = problemCode(res);
  if (REFUSAL_CODES.indexOf(code) >= 0) {
    metrics.unexpected.add(false);
    metrics.refused.add(1, { code });
    // Capacity refusals tell the client when to come back.
    if (CAPACITY_CODES.indexOf(code) >= 0 && code !== 'pool-unavailable') {
      check(res, { 'capacity refusal carries Retry-After': (r) => r.headers['Retry-After'] !== undefined });
    }
    return { kind: 'refused', code };
  }
  metrics.unexpected.add(true);
  return { kind: 'error', status: res.status, code };
}

/**
 * Keeps employee `i`'s session alive the way a client does: heartbeat the
 * grant it knows (`cache`: employee → grant id, per VU), otherwise ask again
 * with the same clientId, which returns the live lease renewed (a reconnect).
 * A heartbeat answered 410, or a first request that creates a session, means
 * the session had been lost. Returns `{ kind, member }`.
 */
export function renewSession(api, employees, cache, i, clientId, reconnect) {
  const e = employees[i];
  let known = cache.get(i);
  if (known === undefined && reconnect === 'discover') {
    // Only sessions that exist: find this client's grant without asking for a new one.
    const mine = api.mine(e.token);
    metrics.unexpected.add(mine.status !== 200);
    if (mine.status !== 200) return { kind: 'error' };
    const list = mine.json();
    const live = list.filter((g) => g.pool === api.poolId)[0];
    if (!live) return { kind: 'none' };
    cache.set(i, live.id);
    known = live.id;
  }
  // A client that let its session go (or never had one) does not ask for a new one.
  if (known === undefined && reconnect === false) return { kind: 'none' };
  if (known !== undefined) {
    const res = api.heartbeat(e.token, known);
    if (res.status === 200) {
      metrics.unexpected.add(false);
      metrics.renewed.add(1);
      return { kind: 'renewed', member: res.json('member') };
    }
    if (res.status !== 404 && res.status !== 410) {
      metrics.unexpected.add(true);
      return { kind: 'error' };
    }
    if (res.status === 410) metrics.lost.add(1);
    metrics.unexpected.add(false);
    cache.delete(i);
    if (reconnect === false || reconnect === 'discover') return { kind: 'gone' };
  }
  const out = grantOutcome(api.grant(e.token, clientId, 'renew'));
  if (out.kind === 'created' || out.kind === 'reconnected') {
    cache.set(i, out.grant.id);
    if (out.kind === 'created' && known === undefined) metrics.lost.add(1);
    else metrics.renewed.add(1);
    return { kind: out.kind, member: out.grant.member };
  }
  return { kind: out.kind };
}

/**
 * The clients' side of keeping sessions alive, for one long iteration of a
 * `per-vu-iterations` scenario (one iteration per VU): VU `slot` of `slots`
 * owns employees slot, slot + slots, … and renews each of them about every
 * `intervalSeconds` with the grant id it knows — as each real client renews
 * its own session. Options:
 *
 * - `range(nowMs)` → `[from, to)`: the employees that hold a session now;
 * - `seed(i)` → `{ id, member }` or null: a grant id known from setup();
 * - `skip(i, member, nowMs)` → true to leave a session unrenewed (a lost gateway's clients);
 * - `reconnect`: false to let a session go when its grant is gone (it was released), rather than ask
 *   again; 'discover' to renew only sessions that exist, finding unknown grant ids with GET /v1/grants;
 * - `endAt`: epoch ms at which to stop.
 */
export function keepAlive(api, employees, clientId, o) {
  const intervalMs = o.intervalSeconds * 1000;
  const cache = new Map();
  const memberOf = new Map();
  const due = new Map();
  while (Date.now() < o.endAt) {
    const now = Date.now();
    const range = o.range(now);
    for (let i = range[0] + ((o.slot - (range[0] % o.slots) + o.slots) % o.slots); i < range[1]; i += o.slots) {
      const d = due.get(i);
      if (d === undefined) {
        // First sight: the session is fresh (or was just held by setup); spread the first renewals.
        due.set(i, now + Math.random() * intervalMs);
        const seeded = o.seed ? o.seed(i) : null;
        if (seeded && seeded.id) {
          cache.set(i, seeded.id);
          memberOf.set(i, seeded.member);
        }
        continue;
      }
      if (d > Date.now()) continue;
      due.set(i, Date.now() + intervalMs);
      if (o.skip && o.skip(i, memberOf.get(i), Date.now())) continue;
      const r = renewSession(api, employees, cache, i, clientId, o.reconnect);
      if (r.member) memberOf.set(i, r.member);
      if (Date.now() >= o.endAt) return;
    }
    sleep(0.5);
  }
}

/**
 * A client in the waiting room: checks in every `everySeconds` until it is
 * offered a seat, then claims it. Gives up after `maxSeconds` and leaves the
 * line. Returns the grant, or null.
 */
export function waitForSeat(api, token, ticketId, maxSeconds, everySeconds) {
  const deadline = Date.now() + maxSeconds * 1000;
  for (;;) {
    const res = api.checkIn(token, ticketId);
    if (res.status !== 200) {
      metrics.unexpected.add(res.status !== 410 && res.status !== 404);
      return null; // the ticket is gone: it missed a check-in, or its offer lapsed
    }
    metrics.unexpected.add(false);
    if (res.json('state') === 'offered') {
      const claim = api.claim(token, ticketId);
      const ok = claim.status === 201;
      metrics.unexpected.add(!ok && claim.status !== 410 && claim.status !== 409);
      if (!ok) return null;
      metrics.claimed.add(1);
      return claim.json();
    }
    if (Date.now() + everySeconds * 1000 > deadline) {
      api.leave(token, ticketId);
      return null;
    }
    sleep(everySeconds);
  }
}

/**
 * One gateway agent's round, as a gateway does it: list the live grants the broker has on its
 * member, then bulk-renew every one of them — every session the member carries, whoever made it
 * (the grants of other VUs included, which a k6 VU cannot otherwise see). Returns the ids listed
 * and the renewal's answer (`{ renewed, released, expired, unknown }`); either is null when that
 * request was not answered 200.
 */
export function listAndRenew(api, token, member) {
  const list = api.listMemberGrants(token, member);
  const listedOk = list.status === 200;
  metrics.unexpected.add(!listedOk);
  if (!listedOk) return { listed: null, answer: null };
  const listed = list.json('grants').map((g) => g.id);
  const res = api.bulkRenew(token, member, listed);
  metrics.bulkRenewalIds.add(listed.length);
  metrics.unexpected.add(res.status !== 200);
  if (res.status !== 200) return { listed, answer: null };
  const answer = res.json();
  metrics.renewed.add(answer.renewed);
  return { listed, answer };
}

/** Every gateway agent (`agents`: member → token) lists its member's live grants and bulk-renews them all. */
export function renewAllByAgents(api, agents) {
  for (const member of Object.keys(agents)) listAndRenew(api, agents[member], member);
}

/**
 * Gateway agents for one long iteration of a `per-vu-iterations` scenario: VU `o.slot` of `o.slots`
 * acts for members slot, slot + slots, … of `o.agents` (member → token) — one VU per member when
 * slots is the number of members. Every `o.intervalSeconds` until `o.endAt` each of its members
 * lists and bulk-renews every grant on it (listAndRenew). For scenarios in which nobody releases:
 * a session seen on a member that the broker later no longer lists, or that a renewal finds gone
 * or expired, is counted in `sessions_lost` (agentRound in lib/keep-alive.js). `o.seed(member)`:
 * ids known to be on the member at the start (held by setup()), so a loss before the first round
 * counts too.
 */
export function gatewayAgents(api, o) {
  const members = Object.keys(o.agents).filter((_m, k) => k % o.slots === o.slot);
  const states = {};
  for (const m of members) states[m] = { seen: o.seed ? o.seed(m) : [], carried: 0 };
  let next = Date.now();
  while (Date.now() < o.endAt) {
    const wait = next - Date.now();
    if (wait > 0) {
      sleep(Math.min(wait, o.endAt - Date.now()) / 1000);
      continue;
    }
    next += o.intervalSeconds * 1000;
    for (const member of members) {
      const r = listAndRenew(api, o.agents[member], member);
      check(r, {
        'member grants listed': (x) => x.listed !== null,
        'bulk renewal answered': (x) => x.answer !== null,
        'bulk renewal renewed every listed session': (x) => x.answer !== null && x.answer.renewed === x.listed.length,
      });
      if (r.listed === null) continue; // nothing learnt this round; the next listing shows what is gone
      states[member] = agentRound(states[member], r.listed, r.answer);
      if (states[member].lost > 0) metrics.lost.add(states[member].lost);
    }
  }
}

/** A scenario of one VU per gateway agent (or `vus` VUs sharing the members), each running gatewayAgents once for `seconds`. */
export function gatewayAgentsScenario(vus, startSeconds, seconds, exec) {
  return keepAliveScenario(vus, startSeconds, seconds, exec || 'gatewayKeepAlive');
}

/**
 * Makes employees [from, to) hold a session (created, or the live one
 * returned on reconnect), `parallel` requests at a time. For setup():
 *
 * - paced at `o.ratePerSecond`, below the broker's admission rate (the
 *   waiting room paces grants above it: those would wait in line);
 * - the gateway agents (`o.agents`: member → token) list and renew every
 *   grant on their members every `o.renewEverySeconds` and once at the end,
 *   so sessions made early outlive a fill longer than the lease TTL;
 * - a request that is put in line anyway waits for its seat (`o.waitSeconds`).
 *
 * Returns grant ids and member of each (index − from) and counts per outcome.
 */
export function holdSessions(api, employees, from, to, clientId, parallel, o) {
  const ids = [];
  const members = [];
  const counts = { created: 0, reconnected: 0, queued: 0, claimed: 0, refused: 0, error: 0 };
  const started = Date.now();
  let renewedAt = started;
  for (let start = from; start < to; start += parallel) {
    const end = Math.min(start + parallel, to);
    const reqs = [];
    for (let i = start; i < end; i++) reqs.push(api.grantRequest(employees[i].token, clientId));
    const answers = http.batch(reqs);
    for (let k = 0; k < answers.length; k++) {
      let out = grantOutcome(answers[k]);
      counts[out.kind] += 1;
      if (out.kind === 'queued') {
        const grant = waitForSeat(api, employees[start + k].token, out.ticket.id, o.waitSeconds || 60, 2);
        if (grant) counts.claimed += 1;
        out = grant ? { grant } : out;
      }
      ids.push(out.grant ? out.grant.id : null);
      members.push(out.grant ? out.grant.member : null);
    }
    if (o.agents && Date.now() - renewedAt >= o.renewEverySeconds * 1000) {
      renewAllByAgents(api, o.agents);
      renewedAt = Date.now();
    }
    const ahead = started + ((end - from) / o.ratePerSecond) * 1000 - Date.now();
    if (ahead > 0) sleep(ahead / 1000);
  }
  if (o.agents) renewAllByAgents(api, o.agents);
  counts.missing = ids.filter((id) => id === null).length;
  return { ids, members, counts };
}

/** holdSessions options from the common settings: paced at SETUP_RATE, renewed by the gateway agents every 30 s. */
export function holdOptions(settings, tokens) {
  return { ratePerSecond: settings.setupRate, agents: tokens.meta.gatewayAgents, renewEverySeconds: 30, waitSeconds: 60 };
}

/** Grant ids grouped by member, for gateway agents' bulk renewals. */
export function idsByMember(held) {
  const out = {};
  for (let k = 0; k < held.ids.length; k++) {
    const m = held.members[k];
    if (m === null) continue;
    if (!out[m]) out[m] = [];
    out[m].push(held.ids[k]);
  }
  return out;
}

/** Reads the pool as the broker counts it; records the gauge and the capacity check. Null if it cannot be read. */
/**
 * The setup() of the scenarios that start at a peak: reads the pool, holds `target` sessions and fails
 * the run if any could not be held. `others` is what the pool held that this run did not create.
 */
export function holdAtStart(api, tokens, S, target, parallel) {
  const before = readPool(api, tokens.meta.operator);
  if (!before) throw new Error(`cannot read pool ${S.pool} at ${S.baseUrl}`);
  const held = holdSessions(api, tokens.employees, 0, target, S.clientId, parallel, holdOptions(S, tokens));
  if (held.counts.missing > 0) {
    throw new Error(`could not hold all ${target} sessions (${JSON.stringify(held.counts)}): is the pool large enough and empty of other load?`);
  }
  return { held, others: before.active - held.counts.reconnected };
}

export function readPool(api, operatorToken) {
  const res = api.pool(operatorToken);
  const ok = check(res, { 'pool snapshot readable': (r) => r.status === 200 });
  metrics.unexpected.add(!ok);
  if (!ok) return null;
  const snap = res.json();
  metrics.brokerActive.add(snap.active);
  // Against every member's maximum, in service or not: a drain lowers `capacity` but ends no session.
  let configured = 0;
  for (const m of snap.members) configured += m.maxSessions;
  if (snap.licenceLimit !== null && snap.licenceLimit !== undefined) configured = Math.min(configured, snap.licenceLimit);
  metrics.withinCapacity.add(snap.active <= configured);
  return snap;
}

/**
 * Checks the broker's own count against `expected(snapshot)`, polling up to
 * `settleSeconds` for requests still in flight, within `tolerance` (sessions
 * between a release and the next grant of a churning client). Records
 * broker_count_ok once.
 */
export function verifyCount(api, operatorToken, label, expected, settleSeconds, tolerance) {
  const slack = tolerance || 0;
  const deadline = Date.now() + (settleSeconds || 0) * 1000;
  let snap = null;
  let want = null;
  for (;;) {
    snap = readPool(api, operatorToken);
    if (snap) {
      want = expected(snap);
      if (Math.abs(snap.active - want) <= slack) break;
    }
    if (Date.now() >= deadline) break;
    sleep(1);
  }
  const ok = snap !== null && Math.abs(snap.active - want) <= slack;
  metrics.countOk.add(ok, { check: label });
  check(snap, { [`${label}: broker counts the expected sessions`]: () => ok });
  console.log(`${label}: broker counts ${snap ? snap.active : '?'} active sessions, expected ${want}${slack ? ` ± ${slack}` : ''}${ok ? '' : ' — MISMATCH'}`);
  return snap;
}

/** Thresholds every scenario has: unexpected answers, dropped iterations, the broker's count, never above capacity. */
export function baseThresholds(settings) {
  return {
    unexpected_responses: [`rate<=${settings.maxErrorRate}`],
    dropped_iterations: [`count<=${settings.maxDropped}`],
    broker_count_ok: ['rate==1'],
    broker_within_capacity: ['rate==1'],
  };
}

/** Latency thresholds for requests of one operation `name` in one scenario. */
export function latencyThresholds(settings, scenario, name) {
  return { [`http_req_duration{scenario:${scenario},name:${name}}`]: [`p(95)<${settings.p95Ms}`, `p(99)<${settings.p99Ms}`] };
}

/** A scenario of `vus` VUs running keepAlive once each for `seconds` (the script exports `keepAlive` as its exec function). */
export function keepAliveScenario(vus, startSeconds, seconds, exec) {
  return {
    executor: 'per-vu-iterations',
    vus,
    iterations: 1,
    startTime: k6Duration(startSeconds),
    maxDuration: k6Duration(seconds + 60),
    gracefulStop: '30s',
    exec: exec || 'keepAliveSessions',
  };
}

/** A scenario that runs `exec` once, `startSeconds` into the run. */
export function onceAt(startSeconds, exec, maxSeconds) {
  return { executor: 'shared-iterations', vus: 1, iterations: 1, startTime: k6Duration(startSeconds), maxDuration: k6Duration(maxSeconds || 120), exec };
}

/** Samples the broker's count every 10 s for `seconds`. */
export function monitorScenario(seconds) {
  return { executor: 'constant-arrival-rate', rate: 1, timeUnit: '10s', duration: k6Duration(Math.max(seconds, 10)), preAllocatedVUs: 1, maxVUs: 2, exec: 'monitor' };
}
