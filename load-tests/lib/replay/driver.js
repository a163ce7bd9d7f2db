/**
 * Plays one lane of a replay schedule in real time, compressed: each session
 * asks for a grant at its time, holds it for its duration (heartbeating
 * while the compressed hold outlasts the heartbeat interval) and releases it;
 * a refused one retries after its next delay or gives up. Plain ES module: the
 * k6 script passes functions that call the broker, the jest tests pass a
 * stand-in broker and a fake clock. Synchronous, as k6's http calls are.
 *
 * Order of things due at the same tick of a pool: releases, then first
 * requests in schedule order, then retries in schedule order — the
 * simulation's order, so a broker of exactly the pool's capacity refuses
 * exactly what the simulation predicted.
 */

const RELEASE = 0;
const FIRST = 1;
const RETRY = 2;
const HEARTBEAT = 3;

function before(a, b) {
  return a.seconds < b.seconds || (a.seconds === b.seconds && (a.pool < b.pool || (a.pool === b.pool && (a.kind < b.kind || (a.kind === b.kind && a.n < b.n)))));
}

function push(heap, e) {
  let i = heap.length;
  heap.push(e);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(e, heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = e;
}

function pop(heap) {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const c = l + 1 < heap.length && before(heap[l + 1], heap[l]) ? l + 1 : l;
      if (!before(heap[c], last)) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
}

/** Counters one lane adds up, per pool. */
export function emptyTally(pools) {
  return pools.map(() => ({ attempts: 0, admitted: 0, reconnected: 0, refused: {}, queued: 0, gaveUp: 0, errors: 0, released: 0, heartbeats: 0, lost: 0 }));
}

/**
 * Plays `sessions` (one lane of splitLanes) and returns the tally per pool.
 *
 * - `o.tickSeconds[p]`: seconds of the simulated day per tick of pool p;
 * - `o.compress`: simulated seconds per real second;
 * - `o.heartbeatSeconds`: real seconds between heartbeats of a held session;
 * - `o.startMs`: real time (ms) at which the simulated day starts (00:00);
 * - `io.now()` ms; `io.sleep(seconds)`;
 * - `io.acquire(pool, employee)` → `{ kind: 'granted' | 'reconnected', id } | { kind: 'refused', code } | { kind: 'queued' } | { kind: 'error' }`
 *   (queued: the pool has a waiting room, which the plan does not model; the replay lets the ticket go);
 * - `io.release(pool, employee, id)`; `io.heartbeat(pool, employee, id)` → false when the lease was gone;
 * - `io.late(ms)` (optional): how late an event was played.
 */
export function replayLane(sessions, o, io, tally) {
  const t = tally || emptyTally(o.tickSeconds);
  const heap = [];
  const held = new Map();
  const heartbeatTicks = (p) => Math.max(1, Math.floor((o.heartbeatSeconds * o.compress) / o.tickSeconds[p]));
  const at = (p, tick) => tick * o.tickSeconds[p];
  for (const s of sessions) push(heap, { seconds: at(s.pool, s.at), tick: s.at, pool: s.pool, kind: FIRST, n: s.n, s, refusals: 0 });

  while (heap.length > 0) {
    const e = pop(heap);
    const due = o.startMs + (e.seconds / o.compress) * 1000;
    const wait = due - io.now();
    if (wait > 0) io.sleep(wait / 1000);
    else if (io.late) io.late(-wait);
    const s = e.s;
    const c = t[s.pool];
    if (e.kind === FIRST || e.kind === RETRY) {
      c.attempts += 1;
      const r = io.acquire(s.pool, s.employee);
      if (r.kind === 'granted' || r.kind === 'reconnected') {
        c.admitted += 1;
        if (r.kind === 'reconnected') c.reconnected += 1;
        const end = e.tick + s.hold;
        held.set(s.n, r.id);
        push(heap, { seconds: at(s.pool, end), tick: end, pool: s.pool, kind: RELEASE, n: s.n, s });
        const every = heartbeatTicks(s.pool);
        if (e.tick + every < end) push(heap, { seconds: at(s.pool, e.tick + every), tick: e.tick + every, pool: s.pool, kind: HEARTBEAT, n: s.n, s, every, end });
        continue;
      }
      if (r.kind === 'refused') c.refused[r.code] = (c.refused[r.code] || 0) + 1;
      else if (r.kind === 'queued') c.queued += 1;
      else c.errors += 1;
      const delay = s.retries[e.refusals];
      if (r.kind === 'refused' && delay !== undefined) {
        const next = e.tick + delay;
        push(heap, { seconds: at(s.pool, next), tick: next, pool: s.pool, kind: RETRY, n: s.n, s, refusals: e.refusals + 1 });
      } else c.gaveUp += 1;
    } else if (e.kind === RELEASE) {
      const id = held.get(s.n);
      held.delete(s.n);
      io.release(s.pool, s.employee, id);
      c.released += 1;
    } else if (e.kind === HEARTBEAT) {
      const id = held.get(s.n);
      if (id === undefined) continue;
      c.heartbeats += 1;
      if (!io.heartbeat(s.pool, s.employee, id)) {
        c.lost += 1;
        held.delete(s.n);
        continue;
      }
      const next = e.tick + e.every;
      if (next < e.end) push(heap, { seconds: at(s.pool, next), tick: next, pool: s.pool, kind: HEARTBEAT, n: s.n, s, every: e.every, end: e.end });
    }
  }
  return t;
}
