/**
 * Where a paced phase's tail comes from: the stalls, not the percentiles. A p99 says how slow the
 * slowest requests were; it cannot say whether they were spread over the phase (a slow path) or
 * bunched (something held the broker, Redis or the load generator for a while, and every request
 * due then waited). This finds the bunches from what the clients saw.
 *
 * A request that took longer than `thresholdMs` was stuck from when it was due to when it was
 * answered; overlapping stuck intervals make one stall. Each stall says when it started (seconds
 * into the phase), how long it lasted, how many requests it held and the longest, and which of the
 * `markers` ops (e.g. a gateway's bulk renewal) were in flight during it, to line stalls up with them.
 */

/** One answered request: when it was due (ms from the phase's start) and how long it took. */
export interface TimedRequest {
  dueMs: number;
  latencyMs: number;
  op: string;
}

export interface Stall {
  /** Seconds into the phase. */
  startS: number;
  durationMs: number;
  /** Requests that took longer than the threshold inside it. */
  slow: number;
  maxMs: number;
  /** Marker ops in flight at some point of the stall, with their count. */
  during: Record<string, number>;
}

export interface StallSummary {
  thresholdMs: number;
  stalls: number;
  /** Requests (markers apart) over the threshold. */
  slow: number;
  /** Share of the phase's time inside a stall. */
  share: number;
  /** The largest stalls by requests held, at most `top`, in time order. */
  worst: Stall[];
  /** Stalls with a marker in flight / all stalls. */
  withMarker: number;
}

export function stallsOf(
  requests: readonly TimedRequest[],
  opts: { thresholdMs: number; markers?: readonly string[]; phaseMs: number; top?: number },
): StallSummary {
  const markers = new Set(opts.markers ?? []);
  const slowOnes = requests
    .filter((r) => !markers.has(r.op) && r.latencyMs > opts.thresholdMs)
    .map((r) => ({ from: r.dueMs, to: r.dueMs + r.latencyMs, ms: r.latencyMs }))
    .sort((a, b) => a.from - b.from);
  const marks = requests.filter((r) => markers.has(r.op)).map((r) => ({ from: r.dueMs, to: r.dueMs + r.latencyMs, op: r.op }));
  const stalls: Stall[] = [];
  let cur: { from: number; to: number; slow: number; max: number } | null = null;
  const close = () => {
    if (!cur) return;
    const during: Record<string, number> = {};
    for (const m of marks) if (m.from <= cur.to && m.to >= cur.from) during[m.op] = (during[m.op] ?? 0) + 1;
    stalls.push({ startS: cur.from / 1000, durationMs: cur.to - cur.from, slow: cur.slow, maxMs: cur.max, during });
  };
  for (const s of slowOnes) {
    if (cur && s.from <= cur.to) {
      cur.to = Math.max(cur.to, s.to);
      cur.slow++;
      cur.max = Math.max(cur.max, s.ms);
    } else {
      close();
      cur = { from: s.from, to: s.to, slow: 1, max: s.ms };
    }
  }
  close();
  const top = opts.top ?? 5;
  const worst = stalls
    .slice()
    .sort((a, b) => b.slow - a.slow || a.startS - b.startS)
    .slice(0, top)
    .sort((a, b) => a.startS - b.startS);
  return {
    thresholdMs: opts.thresholdMs,
    stalls: stalls.length,
    slow: slowOnes.length,
    share: opts.phaseMs > 0 ? stalls.reduce((x, s) => x + s.durationMs, 0) / opts.phaseMs : 0,
    worst,
    withMarker: stalls.filter((s) => Object.keys(s.during).length > 0).length,
  };
}

/** One line per stall: "12.31 s +85 ms: 212 slow, max 64.0 ms, during mixed-bulk-renewal". */
export function describeStall(s: Stall): string {
  const during = Object.entries(s.during).map(([op, n]) => (n > 1 ? `${op} ×${n}` : op));
  return `${s.startS.toFixed(2)} s +${s.durationMs.toFixed(0)} ms: ${s.slow} slow, max ${s.maxMs.toFixed(1)} ms${during.length ? `, during ${during.join(', ')}` : ''}`;
}
