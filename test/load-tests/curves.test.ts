import fc from 'fast-check';
import {
  EVENING_RELEASE,
  MORNING_LOGON,
  arrivalPlan,
  arrivedBy,
  clockAt,
  cumulativeShare,
  k6RampingFields,
  plannedIterations,
  renewalPlan,
  shapeMinutes,
} from '../../load-tests/lib/curves.js';
import { parseDuration } from '../../load-tests/lib/env.js';

describe('arrival curves', () => {
  it('describes a working morning: most logons between 06:30 and 09:00, the peak before 08:00', () => {
    expect(shapeMinutes(MORNING_LOGON)).toBe(300);
    const byClock = (hhmm: string) => {
      const [h, m] = hhmm.split(':').map(Number);
      return cumulativeShare(MORNING_LOGON, (h! * 60 + m! - 330) / 300);
    };
    expect(byClock('06:30')).toBeLessThan(0.1);
    expect(byClock('09:00') - byClock('06:30')).toBeGreaterThan(0.8);
    expect(byClock('08:00')).toBeGreaterThan(0.45);
    expect(byClock('08:00')).toBeLessThan(0.7);
    const peak = MORNING_LOGON.weights.indexOf(Math.max(...MORNING_LOGON.weights));
    expect(clockAt(MORNING_LOGON, peak / (MORNING_LOGON.weights.length - 1))).toBe('07:45');
    expect(clockAt(EVENING_RELEASE, 1)).toBe('19:30');
  });

  it('accumulates from 0 to 1, never decreasing', () => {
    for (const shape of [MORNING_LOGON, EVENING_RELEASE]) {
      expect(cumulativeShare(shape, 0)).toBe(0);
      expect(cumulativeShare(shape, 1)).toBeCloseTo(1, 12);
      let prev = 0;
      for (let i = 1; i <= 1000; i++) {
        const c = cumulativeShare(shape, i / 1000);
        expect(c).toBeGreaterThanOrEqual(prev);
        prev = c;
      }
    }
  });

  it('plays 60,000 logons in a compressed 10 minutes: k6 starts at least 60,000 and barely more', () => {
    const plan = arrivalPlan(MORNING_LOGON, { total: 60000, durationSeconds: 600 });
    expect(plan.compression).toBe(30);
    expect(plan.stages).toHaveLength(20);
    expect(plan.stages.reduce((s, st) => s + st.durationSeconds, 0)).toBeCloseTo(600, 9);
    expect(plan.iterations).toBeGreaterThanOrEqual(60000);
    expect(plan.iterations).toBeLessThan(60000 * 1.01);
    // The peak weight is 26 of the weights' area of 210 segments of 30 s.
    expect(plan.peakPerSecond).toBeCloseTo((60000 * 26) / (210 * 30), 6);
    expect(plan.timeUnit).toBe('1s');
  });

  it('rounds up at any size, choosing a coarser time unit for small runs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200000 }), fc.integer({ min: 10, max: 4 * 3600 }), (total, duration) => {
        const plan = arrivalPlan(MORNING_LOGON, { total, durationSeconds: duration });
        expect(plan.iterations).toBeGreaterThanOrEqual(total - 1e-6);
        expect(plan.stages.every((s) => Number.isInteger(s.target) && s.target >= 0)).toBe(true);
        expect(['1s', '10s', '1m']).toContain(plan.timeUnit);
      }),
    );
    expect(arrivalPlan(MORNING_LOGON, { total: 100, durationSeconds: 600 }).timeUnit).toBe('1m');
  });

  it('gives k6 fields whose durations add up to the run', () => {
    const fields = k6RampingFields(arrivalPlan(EVENING_RELEASE, { total: 60000, durationSeconds: 700 }));
    expect(fields.stages.reduce((s, st) => s + parseDuration(st.duration), 0)).toBeCloseTo(700, 2);
    expect(fields.startRate).toBe(0);
  });

  it('counts the integral of the linear ramps as k6 does', () => {
    expect(plannedIterations({ startRate: 0, timeUnitSeconds: 1, stages: [{ durationSeconds: 10, target: 10 }, { durationSeconds: 10, target: 10 }] })).toBe(150);
    expect(plannedIterations({ startRate: 60, timeUnitSeconds: 60, stages: [{ durationSeconds: 60, target: 60 }] })).toBe(60);
  });

  it('tells how many have arrived at any moment of the run', () => {
    expect(arrivedBy(MORNING_LOGON, 60000, 0, 600)).toBe(0);
    expect(arrivedBy(MORNING_LOGON, 60000, 600, 600)).toBe(60000);
    expect(arrivedBy(MORNING_LOGON, 60000, 9999, 600)).toBe(60000);
    expect(arrivedBy(MORNING_LOGON, 60000, 300, 600)).toBe(Math.floor(60000 * cumulativeShare(MORNING_LOGON, 0.5)));
  });

  it('renews what has arrived, then all of it during the hold', () => {
    const plan = renewalPlan(MORNING_LOGON, { total: 60000, durationSeconds: 600, intervalSeconds: 40, holdSeconds: 300 });
    expect(plan.stages).toHaveLength(21);
    expect(plan.stages[0]!.target).toBeLessThan(plan.stages[19]!.target);
    expect(plan.stages[20]).toEqual({ durationSeconds: 300, target: 1650 });
    expect(() => renewalPlan(MORNING_LOGON, { total: 1, durationSeconds: 1, intervalSeconds: 0 })).toThrow();
  });

  it('refuses shapes without arrivals and nonsense sizes', () => {
    expect(() => arrivalPlan({ ...MORNING_LOGON, weights: [0, 0] }, { total: 1, durationSeconds: 1 })).toThrow('some arrivals');
    expect(() => arrivalPlan({ ...MORNING_LOGON, weights: [1] }, { total: 1, durationSeconds: 1 })).toThrow('two weights');
    expect(() => arrivalPlan(MORNING_LOGON, { total: 0, durationSeconds: 60 })).toThrow('total');
    expect(() => arrivalPlan(MORNING_LOGON, { total: 10, durationSeconds: 0 })).toThrow('durationSeconds');
  });
});
