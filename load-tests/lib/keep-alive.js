/**
 * The two ways a scenario keeps its sessions alive, as plain arithmetic and bookkeeping that jest
 * checks (the k6 side is in lib/k6/broker.js). Plain ES module, no k6 or Node API.
 *
 * - `clients`: every client heartbeats its own grant every RENEW_INTERVAL — what an employee's
 *   client does when no gateway agent reports for it.
 * - `gateways`: one agent per member lists the live grants the broker has on its member
 *   (GET /v1/pools/{pool}/members/{member}/grants) and bulk-renews every one of them
 *   (POST …/renewals) every RENEW_INTERVAL — what a gateway agent does for every session it carries.
 */

export const KEEPALIVE_MODES = ['clients', 'gateways'];

/** Requests a gateway agent sends per round: the listing and the bulk renewal. */
export const AGENT_REQUESTS_PER_ROUND = 2;

/**
 * What keeping `sessions` alive costs the broker in each mode, every `intervalSeconds`:
 * requests per second, and for gateways the ids one bulk renewal carries (sessions spread
 * evenly over `members`). 60,000 sessions every 40 s on 12 members: clients 1,500/s;
 * gateways 12 × 2 / 40 s = 0.6/s, each renewal carrying 5,000 ids.
 */
export function keepAliveLoad(mode, sessions, members, intervalSeconds) {
  if (!(intervalSeconds > 0)) throw new Error('intervalSeconds must be > 0');
  if (mode === 'clients') return { mode, requestsPerSecond: sessions / intervalSeconds, idsPerRenewal: 1 };
  if (mode === 'gateways') {
    if (!(members > 0)) throw new Error('gateways need at least one member');
    return { mode, requestsPerSecond: (members * AGENT_REQUESTS_PER_ROUND) / intervalSeconds, idsPerRenewal: Math.ceil(sessions / members) };
  }
  throw new Error(`KEEPALIVE must be one of ${KEEPALIVE_MODES.join(', ')}, got "${mode}"`);
}

/**
 * Latency thresholds of the gateway agents' two requests in scenario `scenario`. A bulk renewal of
 * one member's share of 60,000 sessions carries 5,000 ids: the benchmark measures 20–50 ms at the
 * median and 55–100 ms at the maximum for that (docs/performance.md), so the defaults (p95 250 ms,
 * p99 500 ms) leave room for a broker busy with a logon storm at the same time, and still fail a
 * renewal that takes as long as a client's whole heartbeat budget several times over. The listing
 * of 5,000 ids is held to the same bounds.
 */
export function gatewayThresholds(scenario, p95Ms, p99Ms) {
  const bounds = [`p(95)<${p95Ms}`, `p(99)<${p99Ms}`];
  return {
    [`http_req_duration{scenario:${scenario},name:bulk-renewal}`]: bounds.slice(),
    [`http_req_duration{scenario:${scenario},name:member-grants}`]: bounds.slice(),
  };
}

/**
 * One gateway agent's bookkeeping of its member's sessions, for scenarios in which nobody releases
 * (a session only ever leaves by being lost). `seen`: the ids the broker listed on the member last
 * round (or those set-up held there); `listed`: this round's listing; `answer`: the bulk renewal's
 * `{ renewed, expired, unknown }`, or null if it was not answered.
 *
 * Lost this round: ids seen before that the broker no longer lists, the listed ids the renewal
 * found gone (`unknown`) or expired. A lease reported expired is also missing from the next
 * listing; it is counted once (`carried`). Returns `{ lost, seen, carried }` for the next round.
 */
export function agentRound(state, listed, answer) {
  const now = new Set(listed);
  let missing = 0;
  for (const id of state.seen) if (!now.has(id)) missing++;
  const unknown = answer && answer.unknown ? answer.unknown : [];
  const expired = answer && answer.expired ? answer.expired : 0;
  for (const id of unknown) now.delete(id);
  return {
    lost: Math.max(0, missing - (state.carried || 0)) + unknown.length + expired,
    seen: now,
    carried: expired,
  };
}
