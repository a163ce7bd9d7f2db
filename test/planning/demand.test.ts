import { resolve } from 'node:path';
import { DAY_SECONDS, DEFAULT_ARRIVAL_PROFILE, SLOT_SECONDS, slotLabel } from '../../src/planning/arrival-profile';
import { drawSessionDay, poolDemands } from '../../src/planning/demand';
import { demandTrace, peakOf } from '../../src/planning/demand-trace';
import { dayVolumeFactor } from '../../src/planning/planner';
import { meanMinutes } from '../../src/planning/random';
import { loadScenario } from '../../src/planning/scenario.loader';

describe('workday demand', () => {
  const s = loadScenario(resolve(__dirname, 'fixtures/small.yaml'));

  it('expects headcount × telework share × sessions × pool share requests, spread by the profile', () => {
    const [vpn, vdi] = poolDemands(s, 1);
    // alpha 300 teleworkers × 0.9, beta 200 × 0.8, gamma 210 × 0.9, each 1.6 sessions.
    expect(vpn!.perDay).toBeCloseTo((300 * 0.9 + 200 * 0.8 + 210 * 0.9) * 1.6, 9);
    expect(vdi!.perDay).toBeCloseTo((300 * 0.1 + 200 * 0.2 + 210 * 0.1) * 1.6, 9);
    expect(vpn!.perSlot.reduce((a, b) => a + b, 0)).toBeCloseTo(vpn!.perDay, 9);
    const peakSlot = vpn!.perSlot.indexOf(Math.max(...vpn!.perSlot));
    expect(slotLabel(peakSlot)).toBe('08:00'); // the default profile's morning peak
    expect(poolDemands(s, 2)[0]!.perDay).toBeCloseTo(2 * vpn!.perDay, 9);
    expect(DEFAULT_ARRIVAL_PROFILE.every((w) => w > 0)).toBe(true);
  });

  it('draws a non-homogeneous Poisson day: sorted arrivals whose counts follow the slots', () => {
    const perSlot = DEFAULT_ARRIVAL_PROFILE.map((w) => w * 200);
    const expected = perSlot.reduce((a, b) => a + b, 0);
    const counts = new Array(96).fill(0);
    let total = 0;
    for (let r = 0; r < 30; r++) {
      const day = drawSessionDay(perSlot, { distribution: 'lognormal', medianMinutes: 180, sigma: 0.5, maxMinutes: 600 }, 1000 + r);
      let sorted = true;
      for (let i = 1; i < day.count; i++) if (day.arrivals[i]! < day.arrivals[i - 1]!) sorted = false;
      expect(sorted).toBe(true);
      expect(day.arrivals[day.count - 1]!).toBeLessThan(DAY_SECONDS);
      expect(day.durations.reduce((a, b) => Math.max(a, b), 0)).toBeLessThanOrEqual(600 * 60);
      for (let i = 0; i < day.count; i++) counts[Math.floor(day.arrivals[i]! / SLOT_SECONDS)] += 1;
      total += day.count;
    }
    // 30 days: the mean count is within 1 % of the expectation (its standard error is 0.15 %).
    expect(Math.abs(total / 30 / expected - 1)).toBeLessThan(0.01);
    // Busy slots within 10 % of their expectation.
    perSlot.forEach((x, k) => {
      if (x * 30 > 20000) expect(Math.abs(counts[k] / (30 * x) - 1)).toBeLessThan(0.1);
    });
  });

  it('counts who would be connected each minute, and the peak of the day', () => {
    const day = { count: 3, arrivals: Float64Array.from([60, 90, 600]), durations: Float64Array.from([600, 30, 60]) };
    const trace = demandTrace(day);
    expect(trace).toHaveLength(1440);
    // Session 1: 01:00–11:00 counts at minutes 1..10; session 2: 01:30–02:00 at none; session 3: 10:00–11:00 at minute 10.
    expect(Array.from(trace.slice(0, 12))).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 0]);
    expect(peakOf(trace)).toBe(2);
  });

  it('varies the volume from day to day around 1, the same for every pool and both variants', () => {
    const f = Array.from({ length: 400 }, (_, r) => dayVolumeFactor(s, 5, r));
    const mean = f.reduce((a, b) => a + b, 0) / f.length;
    const sd = Math.sqrt(f.reduce((a, b) => a + (b - mean) ** 2, 0) / (f.length - 1));
    expect(Math.abs(mean - 1)).toBeLessThan(0.01);
    expect(sd).toBeGreaterThan(0.04);
    expect(sd).toBeLessThan(0.06);
    expect(dayVolumeFactor({ ...s, arrivals: { ...s.arrivals, dayToDayVariation: 0 } }, 5, 3)).toBe(1);
    expect(meanMinutes({ distribution: 'lognormal', medianMinutes: 100, sigma: 0.5 })).toBeCloseTo(100 * Math.exp(0.125), 9);
  });
});
