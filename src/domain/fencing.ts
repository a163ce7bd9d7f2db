/**
 * Fencing tokens per store time unit: a token is at least store time (ms) × FENCE_PER_MS.
 * The Redis store applies the same rule in lua/includes/fence.lua.
 */
export const FENCE_PER_MS = 1000;

/**
 * The next fencing token of a pool (docs/guarantees.md, "Fencing tokens"): above the last one, and
 * at least the store time × FENCE_PER_MS, so a token issued after the counter was lost (a failover
 * that discarded writes, a node or process that came back empty) is above every one issued before —
 * given clocks that do not run back by more than the loss took to recover from.
 */
export function nextFencingToken(last: number, nowMs: number): number {
  return Math.max(last + 1, Math.floor(nowMs) * FENCE_PER_MS);
}
