import { resolve } from 'node:path';
import { erlangB, erlangBServers } from '../../src/planning/erlang-b';
import { runPlan } from '../../src/planning/planner';
import { loadScenario } from '../../src/planning/scenario.loader';
import { scenarioSchema, type ScenarioInput } from '../../src/planning/scenario.schema';

const small = () => loadScenario(resolve(__dirname, 'fixtures/small.yaml'));

/** Flat Poisson demand, exponential sessions of 30 s, no retries: two pools offered 8 and 25 erlangs. */
function erlangScenario(): ScenarioInput {
  const mean = 0.5;
  const perDay = (a: number) => (a / mean) * 1440;
  const total = perDay(8) + perDay(25);
  return {
    name: 'erlang-check',
    seed: 3,
    replications: 40,
    target: { refusedShare: 0.05, window: 'day' },
    arrivals: { sessionsPerTeleworker: 1, profile: Array(96).fill(1) },
    split: { small: perDay(8) / total, medium: perDay(25) / total },
    pools: [
      { id: 'small', kind: 'vpn', capacity: 10, candidates: [10], resolution: 1, sessionDuration: { distribution: 'exponential', meanMinutes: mean } },
      { id: 'medium', kind: 'vpn', capacity: 30, candidates: [30], resolution: 1, sessionDuration: { distribution: 'exponential', meanMinutes: mean } },
    ],
    agencies: [{ id: 'everyone', headcount: Math.round(total), teleworkShare: 1 }],
  };
}

describe('capacity plan', () => {
  it('through the whole plan, a Poisson/exponential scenario refuses what Erlang B says, and recommends its capacity', () => {
    const s = scenarioSchema.parse(erlangScenario());
    const plan = runPlan(s);
    for (const [i, erlangs, servers] of [[0, 8, 10], [1, 25, 30]] as const) {
      const today = plan.pools[i]!.today;
      const offered = (s.agencies[0]!.headcount * s.split[s.pools[i]!.id]!) / 1440 * 0.5;
      expect(offered).toBeCloseTo(erlangs, 0);
      expect(Math.abs(today.current.refusedShareDay / erlangB(servers, offered) - 1)).toBeLessThan(0.02);
      // The simulation's answer for a 5 % target is Erlang B's, or next to it.
      expect(Math.abs(today.recommendation.capacity - erlangBServers(offered, 0.05))).toBeLessThanOrEqual(1);
      expect(today.growth).toBe(1);
    }
    expect(plan.pools[0]!.growth).toBeNull();
  });

  it('reports, per pool and variant, concurrency with its band, the peaks, and the smallest capacity meeting the target', () => {
    const s = small();
    const plan = runPlan(s);
    expect(plan.replications).toBe(4);
    for (const p of plan.pools) {
      for (const v of [p.today, p.growth!]) {
        expect(v.concurrency.median).toHaveLength(1440);
        v.concurrency.median.forEach((m, g) => {
          expect(v.concurrency.low[g]).toBeLessThanOrEqual(m);
          expect(v.concurrency.high[g]).toBeGreaterThanOrEqual(m);
        });
        expect(v.peaks).toHaveLength(4);
        expect(v.peak.max).toBe(Math.max(...v.peaks));
        const rec = v.recommendation;
        expect(rec.outcome.refusedShare).toBeLessThanOrEqual(s.target.refusedShare);
        // One resolution step less fails the target (the search is exact to its resolution).
        const below = v.candidates.find((c) => c.capacity === rec.capacity - rec.resolution);
        if (below) expect(below.refusedShare).toBeGreaterThan(s.target.refusedShare);
        // Refusals fall as capacity grows.
        for (let k = 1; k < v.candidates.length; k++) expect(v.candidates[k]!.refusedShare).toBeLessThanOrEqual(v.candidates[k - 1]!.refusedShare + 1e-12);
        expect(v.candidates.map((c) => c.capacity)).toContain(p.pool.capacity);
      }
      // Growth of 1.5 needs more, and today's capacity refuses more under it.
      expect(p.growth!.recommendation.capacity).toBeGreaterThan(p.today.recommendation.capacity);
      expect(p.growth!.current.refusedShare).toBeGreaterThanOrEqual(p.today.current.refusedShare);
      expect(p.growth!.expectedRequestsPerDay).toBeCloseTo(p.today.expectedRequestsPerDay * 1.5, 6);
    }
    expect(plan.pools[0]!.today.recommendation.members).toBe(Math.ceil(plan.pools[0]!.today.recommendation.capacity / 100));
    expect(plan.pools[1]!.today.recommendation.members).toBeNull();
  });

  it('gives the same plan for the same seed, and another for another seed', () => {
    const s = small();
    expect(JSON.stringify(runPlan(s))).toBe(JSON.stringify(runPlan(s)));
    expect(JSON.stringify(runPlan(s, { seed: 8 }).pools[0]!.today.peaks)).not.toBe(JSON.stringify(runPlan(s).pools[0]!.today.peaks));
  });
});
