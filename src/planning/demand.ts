import { SLOT_SECONDS } from './arrival-profile';
import { RandomStream, fillDurations } from './random';
import { profileWeights, type Scenario } from './scenario.schema';
import type { DurationSpec } from './scenario.schema';

// Math's functions as module constants: a global lookup in a hot loop is slow where code runs in a
// vm context (jest runs tests in one), and a constant costs nothing elsewhere.
const { ceil, sqrt } = Math;

/** Expected session requests per day for one pool, and each agency's part of them. */
export interface PoolDemand {
  poolId: string;
  /** Mean requests per day (first attempts, before any retry). */
  perDay: number;
  /** Agency id → mean requests per day, in scenario order. */
  byAgency: { agency: string; perDay: number }[];
  /** Mean requests per 15-minute slot (96 values). */
  perSlot: number[];
}

/**
 * Expected demand per pool: for every agency, headcount × telework share × growth ×
 * sessions per teleworker × the agency's share of that pool, spread over the day by the profile.
 */
export function poolDemands(s: Scenario, growth: number): PoolDemand[] {
  const weights = profileWeights(s);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  return s.pools.map((p) => {
    const byAgency = s.agencies.map((a) => ({
      agency: a.id,
      perDay: a.headcount * a.teleworkShare * growth * s.arrivals.sessionsPerTeleworker * ((a.split ?? s.split)[p.id] ?? 0),
    }));
    const perDay = byAgency.reduce((sum, a) => sum + a.perDay, 0);
    return { poolId: p.id, perDay, byAgency, perSlot: weights.map((w) => (perDay * w) / totalWeight) };
  });
}

/** One simulated day of one pool: requests in time order with the time each would stay connected. */
export interface SessionDay {
  count: number;
  /** Seconds from 00:00, ascending. */
  arrivals: Float64Array;
  /** Seconds each session stays connected once admitted. */
  durations: Float64Array;
}

/**
 * Draws a day of requests: a non-homogeneous Poisson process whose rate is constant within each
 * 15-minute slot (exponential gaps; at a slot boundary the clock restarts with the next slot's
 * rate, which is exact because the exponential forgets), and a duration for each request.
 */
export function drawSessionDay(perSlot: readonly number[], duration: DurationSpec, key: number): SessionDay {
  const rs = new RandomStream(key);
  const expected = perSlot.reduce((a, b) => a + b, 0);
  let arrivals = new Float64Array(ceil(expected + 6 * sqrt(expected) + 64));
  let n = 0;
  for (let slot = 0; slot < perSlot.length; slot++) {
    const rate = perSlot[slot]! / SLOT_SECONDS;
    if (rate <= 0) continue;
    const end = (slot + 1) * SLOT_SECONDS;
    let t = slot * SLOT_SECONDS;
    for (;;) {
      t += rs.exponential(1 / rate);
      if (t >= end) break;
      if (n === arrivals.length) {
        const grown = new Float64Array(arrivals.length * 2);
        grown.set(arrivals);
        arrivals = grown;
      }
      arrivals[n++] = t;
    }
  }
  const durations = new Float64Array(n);
  fillDurations(durations, n, duration, rs);
  return { count: n, arrivals: arrivals.subarray(0, n), durations };
}
