/**
 * Synthetic employees for load tests: who they are, and how many per agency,
 * so that a run respects the capacity model (guaranteed shares and maxima)
 * and never fails for reasons the test did not mean to provoke. Plain ES
 * module: the token preparation step (Node) and the k6 scripts share it.
 */

/** Token subject of synthetic employee `i` (0-based). Synthetic, never a real employee id. */
export function employeeSubject(i, prefix) {
  return `${prefix || 'loadtest-employee-'}${String(i + 1).padStart(6, '0')}`;
}

/**
 * Splits `n` over weights by the largest-remainder method; nobody gets more
 * than `caps[i]`. Ties go to the lower index, so the result is deterministic.
 */
export function apportion(n, weights, caps) {
  const sum = weights.reduce((s, w) => s + w, 0);
  if (n === 0) return weights.map(() => 0);
  if (!(sum > 0)) throw new Error('cannot apportion over weights that are all zero');
  const exact = weights.map((w) => (n * w) / sum);
  const out = exact.map((x, i) => Math.min(Math.floor(x + 1e-9), caps ? caps[i] : Infinity));
  let left = n - out.reduce((s, x) => s + x, 0);
  const order = exact.map((x, i) => i).sort((a, b) => exact[b] - Math.floor(exact[b] + 1e-9) - (exact[a] - Math.floor(exact[a] + 1e-9)) || a - b);
  // First by largest remainder, then anyone still under their cap.
  for (const pass of [order, weights.map((w, i) => i)]) {
    for (const i of pass) {
      if (left === 0) break;
      if (caps && out[i] >= caps[i]) continue;
      if (weights[i] === 0) continue;
      out[i] += 1;
      left -= 1;
    }
  }
  if (left !== 0) throw new Error(`cannot place ${left} of ${n} within the caps`);
  return out;
}

/**
 * How many of `total` synthetic employees belong to each agency, given the
 * agencies' shares of one pool (`{ id, guaranteed, maximum }`):
 *
 * - up to the sum of guarantees, in proportion to the guarantees (nobody
 *   above its guarantee);
 * - beyond that, every agency gets its guarantee and the rest is spread in
 *   proportion to the headroom `maximum − guaranteed` (nobody above its
 *   maximum).
 *
 * When every agency's demand is at least its guarantee and the total is at
 * most the capacity, every one of them can be granted in any order (rule 10
 * of docs/admission.md never refuses), so a run of `total` logons expects
 * `total` grants.
 */
export function allocateEmployees(total, shares) {
  if (!(Number.isInteger(total) && total >= 0)) throw new Error(`total must be a whole number >= 0, got ${total}`);
  if (!shares || shares.length === 0) throw new Error('no agency is entitled to this pool');
  const g = shares.map((s) => s.guaranteed);
  const m = shares.map((s) => s.maximum);
  const sumG = g.reduce((s, x) => s + x, 0);
  const sumM = m.reduce((s, x) => s + x, 0);
  if (total > sumM) throw new Error(`${total} employees exceed the sum of the agencies' maxima (${sumM}): some would always be refused`);
  let counts;
  if (total <= sumG) {
    counts = apportion(total, g, g);
  } else {
    const headroom = m.map((x, i) => x - g[i]);
    const extra = apportion(total - sumG, headroom, headroom);
    counts = g.map((x, i) => x + extra[i]);
  }
  return shares.map((s, i) => ({ id: s.id, count: counts[i] }));
}

/**
 * The agency of each employee, interleaved so that agencies arrive mixed
 * (smooth weighted round robin) rather than one after another. Any prefix of
 * the result holds each agency in about its proportion.
 */
export function interleaveAgencies(allocation) {
  const total = allocation.reduce((s, a) => s + a.count, 0);
  const current = allocation.map(() => 0);
  const out = new Array(total);
  for (let n = 0; n < total; n++) {
    let best = -1;
    for (let i = 0; i < allocation.length; i++) {
      if (allocation[i].count === 0) continue;
      current[i] += allocation[i].count;
      if (best < 0 || current[i] > current[best]) best = i;
    }
    current[best] -= total;
    out[n] = allocation[best].id;
  }
  return out;
}

/** Employees per agency among the first `n` of a list of agencies (as interleaveAgencies returns). */
export function countByAgency(agencies, n) {
  const out = {};
  const end = n === undefined ? agencies.length : Math.min(n, agencies.length);
  for (let i = 0; i < end; i++) out[agencies[i]] = (out[agencies[i]] || 0) + 1;
  return out;
}
