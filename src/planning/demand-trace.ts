import { DAY_SECONDS } from './arrival-profile';
import type { SessionDay } from './demand';

// Math's functions as module constants: a global lookup in a hot loop is slow where code runs in a
// vm context (jest runs tests in one), and a constant costs nothing elsewhere.
const { ceil, min } = Math;

/** Concurrency is sampled once a minute, at 00:00, 00:01, … 23:59. */
export const TRACE_STEP_SECONDS = 60;
export const TRACE_POINTS = DAY_SECONDS / TRACE_STEP_SECONDS;

/**
 * The offered load: how many sessions would be connected at each minute if every request were
 * admitted (an infinite-server system). A session counts at minute g when start <= g·60 < end.
 * A difference array makes this O(sessions + minutes), with no sorting.
 */
export function demandTrace(day: SessionDay): Int32Array {
  const diff = new Int32Array(TRACE_POINTS + 1);
  const { arrivals, durations, count } = day;
  for (let i = 0; i < count; i++) {
    const start = arrivals[i]!;
    const from = ceil(start / TRACE_STEP_SECONDS);
    if (from >= TRACE_POINTS) continue;
    const to = min(TRACE_POINTS, ceil((start + durations[i]!) / TRACE_STEP_SECONDS));
    if (to <= from) continue;
    diff[from]!++;
    diff[to]!--;
  }
  const trace = new Int32Array(TRACE_POINTS);
  let level = 0;
  for (let g = 0; g < TRACE_POINTS; g++) {
    level += diff[g]!;
    trace[g] = level;
  }
  return trace;
}

export function peakOf(trace: Int32Array): number {
  let max = 0;
  for (let g = 0; g < trace.length; g++) if (trace[g]! > max) max = trace[g]!;
  return max;
}
