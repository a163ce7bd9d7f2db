import { SLOT_SECONDS, SLOTS_PER_DAY } from './arrival-profile';
import type { SessionDay } from './demand';
import { durationFromUniforms, hashUnit } from './random';
import type { DurationSpec } from './scenario.schema';

// Math's functions as module constants: a global lookup in a hot loop is slow where code runs in a
// vm context (jest runs tests in one), and a constant costs nothing elsewhere.
const { floor, min, max, round } = Math;

export interface RetryPolicy {
  /** Chance that a refused employee tries again. */
  probability: number;
  /** Further attempts at most after the first refusal. */
  maxRetries: number;
  delay: DurationSpec;
}

/** What one pool of a given capacity did with one simulated day, per 15-minute slot. */
export interface LossDay {
  capacity: number;
  /** Requests (first attempts and retries) per slot. */
  attempts: Int32Array;
  /** Requests refused per slot. */
  refused: Int32Array;
  /** Employees who gave up after a refusal, per slot of their last refusal. */
  gaveUp: Int32Array;
  /** Most sessions held at once. */
  maxBusy: number;
}

/**
 * Seconds until session `session` tries again after its refusal number `refusal` (0 for the first),
 * or -1 when it gives up. Depends only on its arguments, so the simulation at every capacity and
 * the replay schedule agree on what each employee does.
 */
export function retryDelaySeconds(policy: RetryPolicy | null, retryKey: number, session: number, refusal: number): number {
  if (policy === null || refusal >= policy.maxRetries || policy.probability <= 0) return -1;
  if (hashUnit(retryKey, session, 3 * refusal) >= policy.probability) return -1;
  return durationFromUniforms(policy.delay, hashUnit(retryKey, session, 3 * refusal + 1), hashUnit(retryKey, session, 3 * refusal + 2));
}

/**
 * A day of requests on the simulation clock: integer ticks of `tickSeconds`, fine against the
 * session durations (at most one second, and at most 1/2048 of the mean duration), so the loss
 * model runs on whole ticks and counts rather than on sorted end times.
 */
export interface TickedDay {
  tickSeconds: number;
  count: number;
  /** Tick of each request, ascending. */
  arrivalTick: Int32Array;
  /** Ticks each session holds a slot once admitted (at least 1). */
  holdTicks: Int32Array;
  longestHold: number;
}

export function toTicks(day: SessionDay, meanDurationSeconds: number): TickedDay {
  const tickSeconds = min(1, meanDurationSeconds / 2048);
  const arrivalTick = new Int32Array(day.count);
  const holdTicks = new Int32Array(day.count);
  let longestHold = 1;
  for (let i = 0; i < day.count; i++) {
    const a = floor(day.arrivals[i]! / tickSeconds);
    arrivalTick[i] = a;
    // End tick rounded from the exact end time, so the occupancy seen by later requests is unbiased.
    const hold = max(1, round((day.arrivals[i]! + day.durations[i]!) / tickSeconds) - a);
    holdTicks[i] = hold;
    if (hold > longestHold) longestHold = hold;
  }
  return { tickSeconds, count: day.count, arrivalTick, holdTicks, longestHold };
}

const BLOCK_BITS = 6;
const BLOCK = 1 << BLOCK_BITS;

/**
 * A loss system: `capacity` servers, no queue. Requests arrive as drawn in `day`; one that finds
 * all servers busy is refused and, following `policy`, comes back later or gives up. Sessions
 * that end in a tick free their slot before the requests of that tick. Retries after midnight
 * are counted in the last slot.
 *
 * Pending departures are counted per tick in a ring as long as the longest session (a calendar
 * queue of counts: who leaves does not matter, only how many), with a count per block of 64
 * ticks so the clock skips quiet stretches. Each request is O(1). Retries, which are few, wait
 * in a binary min-heap.
 *
 * Order within a tick, which the replay schedule reproduces: departures, then first requests in
 * the order drawn, then retries by session number.
 */
export function simulateLossDay(day: TickedDay, capacity: number, policy: RetryPolicy | null, retryKey: number): LossDay {
  const attempts = new Int32Array(SLOTS_PER_DAY);
  const refused = new Int32Array(SLOTS_PER_DAY);
  const gaveUp = new Int32Array(SLOTS_PER_DAY);
  const { arrivalTick, holdTicks, count, tickSeconds } = day;
  // Imported bindings are property reads after compilation to CommonJS: keep them out of the loop.
  const ticksPerSlot = SLOT_SECONDS / tickSeconds;
  const lastSlot = SLOTS_PER_DAY - 1;
  const blockBits = BLOCK_BITS;
  const block = BLOCK;

  let ringSize = BLOCK;
  while (ringSize < day.longestHold + 2 * BLOCK) ringSize *= 2;
  const mask = ringSize - 1;
  const blockMask = (ringSize >> BLOCK_BITS) - 1;
  const ending = new Int32Array(ringSize);
  const endingInBlock = new Int32Array(ringSize >> BLOCK_BITS);
  let cursor = 0; // every tick before this one has released its sessions
  let busy = 0;
  let maxBusy = 0;

  // Retry heap: tick, session, refusals so far.
  let rTick = new Int32Array(policy && policy.probability > 0 ? 1024 : 1);
  let rSession = new Int32Array(rTick.length);
  let rRefusals = new Int32Array(rTick.length);
  let rSize = 0;

  let next = 0;
  for (;;) {
    let t: number;
    let session: number;
    let refusals: number;
    const ta = next < count ? arrivalTick[next]! : 0x7fffffff;
    if (rSize > 0 && rTick[0]! < ta) {
      t = rTick[0]!;
      session = rSession[0]!;
      refusals = rRefusals[0]!;
      // pop the retry heap
      rSize--;
      if (rSize > 0) {
        const lt = rTick[rSize]!;
        const ls = rSession[rSize]!;
        const lr = rRefusals[rSize]!;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= rSize) break;
          const c = l + 1 < rSize && (rTick[l + 1]! < rTick[l]! || (rTick[l + 1] === rTick[l] && rSession[l + 1]! < rSession[l]!)) ? l + 1 : l;
          if (rTick[c]! > lt || (rTick[c] === lt && rSession[c]! > ls)) break;
          rTick[i] = rTick[c]!;
          rSession[i] = rSession[c]!;
          rRefusals[i] = rRefusals[c]!;
          i = c;
        }
        rTick[i] = lt;
        rSession[i] = ls;
        rRefusals[i] = lr;
      }
    } else if (next < count) {
      t = ta;
      session = next++;
      refusals = 0;
    } else break;

    // Release the sessions that end at or before this tick: whole blocks at once, then ticks.
    while (cursor <= t) {
      if ((cursor & (block - 1)) === 0 && cursor + block - 1 <= t) {
        const b = (cursor >> blockBits) & blockMask;
        if (endingInBlock[b] !== 0) {
          busy -= endingInBlock[b]!;
          endingInBlock[b] = 0;
          ending.fill(0, cursor & mask, (cursor & mask) + block);
        }
        cursor += block;
      } else {
        const r = cursor & mask;
        const n = ending[r]!;
        if (n !== 0) {
          busy -= n;
          ending[r] = 0;
          endingInBlock[(cursor >> blockBits) & blockMask]! -= n;
        }
        cursor++;
      }
    }

    const slot = min(lastSlot, floor(t / ticksPerSlot));
    attempts[slot]!++;
    if (busy < capacity) {
      const end = t + holdTicks[session]!;
      ending[end & mask]!++;
      endingInBlock[(end >> blockBits) & blockMask]!++;
      if (++busy > maxBusy) maxBusy = busy;
      continue;
    }
    refused[slot]!++;
    const delay = retryDelaySeconds(policy, retryKey, session, refusals);
    if (delay < 0) {
      gaveUp[slot]!++;
      continue;
    }
    if (rSize === rTick.length) {
      const grown = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      rTick = grown(rTick);
      rSession = grown(rSession);
      rRefusals = grown(rRefusals);
    }
    const when = t + max(1, round(delay / tickSeconds));
    let i = rSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (rTick[parent]! < when || (rTick[parent] === when && rSession[parent]! < session)) break;
      rTick[i] = rTick[parent]!;
      rSession[i] = rSession[parent]!;
      rRefusals[i] = rRefusals[parent]!;
      i = parent;
    }
    rTick[i] = when;
    rSession[i] = session;
    rRefusals[i] = refusals + 1;
  }
  return { capacity, attempts, refused, gaveUp, maxBusy };
}
