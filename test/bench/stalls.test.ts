import { describeStall, stallsOf, type TimedRequest } from '../../bench/lib/stalls';

const req = (dueMs: number, latencyMs: number, op = 'grant'): TimedRequest => ({ dueMs, latencyMs, op });

describe('finding the stalls of a paced phase', () => {
  it('merges slow requests whose stuck intervals overlap, and keeps apart those that do not', () => {
    const s = stallsOf(
      [
        req(0, 1),
        // one stall: 100 → 160 (a 40 ms request overlapping a 50 ms one)
        req(100, 50),
        req(120, 40),
        req(130, 2), // fast: not part of it
        // another, after a gap
        req(400, 30),
        req(900, 5),
      ],
      { thresholdMs: 20, phaseMs: 1000 },
    );
    expect(s.stalls).toBe(2);
    expect(s.slow).toBe(3);
    expect(s.worst).toEqual([
      { startS: 0.1, durationMs: 60, slow: 2, maxMs: 50, during: {} },
      { startS: 0.4, durationMs: 30, slow: 1, maxMs: 30, during: {} },
    ]);
    expect(s.share).toBeCloseTo(0.09);
  });

  it('counts a request exactly at the threshold as not slow', () => {
    expect(stallsOf([req(0, 20), req(10, 20.01)], { thresholdMs: 20, phaseMs: 100 }).slow).toBe(1);
  });

  it('names the markers in flight during a stall, and leaves markers out of the slow count', () => {
    const s = stallsOf([req(0, 90, 'report'), req(50, 30), req(60, 25), req(500, 40), req(480, 30, 'report'), req(600, 5, 'report')], {
      thresholdMs: 20,
      markers: ['report'],
      phaseMs: 1000,
    });
    expect(s.slow).toBe(3);
    expect(s.stalls).toBe(2);
    expect(s.withMarker).toBe(2);
    expect(s.worst.map((w) => w.during)).toEqual([{ report: 1 }, { report: 1 }]);
    expect(describeStall(s.worst[0]!)).toBe('0.05 s +35 ms: 2 slow, max 30.0 ms, during report');
  });

  it('keeps the largest stalls by requests held, in time order', () => {
    const requests = [req(0, 30), req(1000, 30), req(1005, 30), req(1010, 30), req(2000, 30), req(2005, 30)];
    const s = stallsOf(requests, { thresholdMs: 20, phaseMs: 3000, top: 2 });
    expect(s.stalls).toBe(3);
    expect(s.worst.map((w) => [w.startS, w.slow])).toEqual([
      [1, 3],
      [2, 2],
    ]);
  });

  it('finds none in a phase without slow requests', () => {
    expect(stallsOf([req(0, 1), req(5, 2)], { thresholdMs: 20, phaseMs: 100 })).toEqual({ thresholdMs: 20, stalls: 0, slow: 0, share: 0, worst: [], withMarker: 0 });
  });
});
