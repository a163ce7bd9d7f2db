/**
 * What the broker must report after a scenario, computed from the capacity
 * model (docs/admission.md) rather than hard-coded, so a scenario checks the
 * broker's own count of active sessions against it. Plain ES module.
 *
 * `pool` is the shape GET /v1/pools/{id} answers with (or a PoolSpec):
 * `{ licenceLimit, members: [{ id, state, maxSessions }], agencies: [{ id, guaranteed, maximum }] }`.
 */

/** Capacity with the members in service (state active, not listed in `without`), capped by the licence limit. */
export function poolCapacity(pool, without) {
  const gone = without || [];
  let sum = 0;
  for (const m of pool.members) if ((m.state || 'active') === 'active' && gone.indexOf(m.id) < 0) sum += m.maxSessions;
  return pool.licenceLimit === null || pool.licenceLimit === undefined ? sum : Math.min(sum, pool.licenceLimit);
}

/** Slots of headroom reserved for classes ranked above `rank` (docs/admission.md, rule 10a). */
export function headroomAbove(pool, rank) {
  let sum = 0;
  for (const h of pool.headroom || []) if (h.rank > (rank || 0)) sum += h.slots;
  return sum;
}

/**
 * Sessions held once every employee of `demandByAgency` (agency id → number
 * of distinct employees asking once, one session each, all of priority rank
 * `rank`, 0 for the default class) has been decided:
 *
 *   held = min(capacity − headroom above rank − Σ unused guarantees, Σ min(demand, maximum))
 *
 * where an agency whose demand stays below its guarantee leaves the rest of
 * its guarantee unused, and nobody may borrow it (rule 10); the headroom of
 * higher classes stays free (rule 10a); agencies without a share are refused
 * (rule 4); no agency exceeds its maximum (rule 7) and the pool never exceeds
 * its capacity (rule 9). It holds whatever the arrival order when guarantees
 * and headroom fit the capacity, as configuration validation demands;
 * test/load-tests/expected.test.ts checks it against a step-by-step
 * simulation of the rules in random orders.
 */
export function expectedHeld(pool, demandByAgency, without, rank) {
  const capacity = poolCapacity(pool, without) - headroomAbove(pool, rank);
  let wanted = 0;
  let reservedUnused = 0;
  for (const a of pool.agencies) {
    const demand = demandByAgency[a.id] || 0;
    const effective = Math.min(demand, a.maximum);
    wanted += effective;
    reservedUnused += Math.max(0, a.guaranteed - effective);
  }
  return Math.max(0, Math.min(capacity - reservedUnused, wanted));
}

/** Renewal requests per second that keep `held` leases alive when each is renewed every `intervalSeconds`. */
export function renewalsPerSecond(held, intervalSeconds) {
  if (!(intervalSeconds > 0)) throw new Error('intervalSeconds must be > 0');
  return held / intervalSeconds;
}

/**
 * Virtual users an arrival-rate executor needs (Little's law): rate × time
 * each iteration takes, doubled for slow moments, at least 1.
 */
export function vusForRate(ratePerSecond, secondsPerIteration, headroom) {
  return Math.max(1, Math.ceil(ratePerSecond * secondsPerIteration * (headroom === undefined ? 2 : headroom)));
}

/**
 * Keep-alive VUs for `sessions` renewed every `renewIntervalSeconds`: a VU renews its sessions one
 * request after another, so it carries at most one renewal per answer time. Sized (Little's law)
 * for answers as slow as the p95 threshold, twice over for slow moments: 60,000 sessions every
 * 40 s at 100 ms → 300 VUs, where a fixed 100 fell behind as soon as answers slowed.
 */
export function keepAliveVUsFor(sessions, renewIntervalSeconds, p95Ms) {
  return vusForRate(renewalsPerSecond(sessions, renewIntervalSeconds), p95Ms / 1000, 2);
}

/**
 * Checks a renewal interval against a lease TTL: an interval of more than half
 * the TTL leaves no room for one late renewal, and leases would expire under
 * load. Returns a problem sentence or null.
 */
export function renewalIntervalProblem(intervalSeconds, leaseTtlSeconds) {
  if (intervalSeconds * 2 > leaseTtlSeconds) {
    return `a renewal interval of ${intervalSeconds}s is more than half the lease TTL of ${leaseTtlSeconds}s: one late renewal and the lease expires`;
  }
  return null;
}

/**
 * Sessions held when the default class (`demandByAgency`) arrives first and
 * employees of priority classes (`priority`: `[{ rank, count }]`, in arrival
 * order) arrive after it — as `npm run loadtest:prepare` lays them out, the
 * priority ones last — each priority employee in an agency still below its
 * maximum. The default class fills the pool up to the headroom; each priority
 * group then takes what its rank may use.
 */
export function expectedHeldByClass(pool, demandByAgency, priority, without) {
  let held = expectedHeld(pool, demandByAgency, without, 0);
  const capacity = poolCapacity(pool, without);
  for (const p of priority || []) held += Math.max(0, Math.min(p.count, capacity - headroomAbove(pool, p.rank) - held));
  return held;
}
