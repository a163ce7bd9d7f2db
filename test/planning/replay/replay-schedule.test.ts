import { resolve } from 'node:path';
import { emptyTally, replayLane, type AcquireResult, type PoolTally } from '../../../load-tests/lib/replay/driver.js';
import { checkSchedule, lastEventSeconds, splitLanes, type Schedule } from '../../../load-tests/lib/replay/schedule.js';
import { buildResult, recordTally } from '../../../load-tests/lib/replay/summary.js';
import { runPlan, type PlanResult } from '../../../src/planning/planner';
import { compareReplay, formatComparison, replayResultSchema } from '../../../src/planning/replay/replay-compare';
import { buildReplaySchedule, type ReplaySchedule } from '../../../src/planning/replay/replay-schedule';
import { loadScenario } from '../../../src/planning/scenario.loader';

/** The small scenario with pools tight enough that the exported day sees refusals and retries. */
function tightPlan(): PlanResult {
  const s = loadScenario(resolve(__dirname, '../fixtures/small.yaml'));
  s.pools[0]!.capacity = 420;
  s.pools[1]!.capacity = 45;
  return runPlan(s);
}

/**
 * A stand-in broker that admits exactly up to each pool's capacity and one session per employee,
 * on a fake clock; plays the lanes one after another (so, exactly, only a single lane).
 */
function replayWithStandIn(schedule: ReplaySchedule, lanes: number, compress: number) {
  let now = 1_000_000;
  const active = schedule.pools.map(() => 0);
  const holder = new Map<string, string>(); // pool/employee → grant id
  const grants = new Map<string, string>(); // grant id → pool/employee
  let overlap = 0;
  let next = 0;
  const io = {
    now: () => now,
    sleep: (s: number) => void (now += s * 1000),
    acquire(p: number, e: number): AcquireResult {
      const who = `${p}/${e}`;
      if (holder.has(who)) {
        overlap += 1;
        return { kind: 'refused', code: 'employee-at-limit' };
      }
      if (active[p]! >= schedule.pools[p]!.capacity) return { kind: 'refused', code: 'pool-full' };
      active[p]! += 1;
      const id = `g${next++}`;
      holder.set(who, id);
      grants.set(id, who);
      return { kind: 'granted', id };
    },
    release(p: number, e: number, id: string) {
      expect(grants.get(id)).toBe(`${p}/${e}`);
      grants.delete(id);
      holder.delete(`${p}/${e}`);
      active[p]! -= 1;
    },
    heartbeat: (_p: number, _e: number, id: string) => grants.has(id),
  };
  const tally: PoolTally[] = emptyTally(schedule.pools);
  for (const lane of splitLanes(schedule as unknown as Schedule, lanes)) {
    replayLane(lane, { tickSeconds: schedule.pools.map((p) => p.tickSeconds), compress, heartbeatSeconds: 40, startMs: now }, io, tally);
  }
  return { tally, overlap, active };
}

describe('replay schedule', () => {
  let plan: PlanResult;
  let schedule: ReplaySchedule;
  beforeAll(() => {
    plan = tightPlan();
    schedule = buildReplaySchedule(plan, { replication: 2, compress: 240 });
  });

  it('adds up to the simulated counts of the day it exports', () => {
    expect(schedule.day).toBe(3);
    schedule.pools.forEach((p, i) => {
      const today = plan.pools[i]!.today;
      expect(p.sessions).toBe(today.requestsPerDay[2]);
      expect(schedule.sessions.filter((x) => x[2] === i)).toHaveLength(today.requestsPerDay[2]!);
      expect(p.predicted.attempts).toBe(today.current.dayTotals.attempts[2]);
      expect(p.predicted.refused).toBe(today.current.dayTotals.refused[2]);
      expect(p.predicted.gaveUp).toBe(today.current.dayTotals.gaveUp[2]);
      expect(p.predicted.admitted).toBe(p.predicted.attempts - p.predicted.refused);
      expect(p.predicted.refused).toBeGreaterThan(0);
      expect(p.acrossDays.refused[0]).toBeLessThanOrEqual(p.acrossDays.refused[2]);
    });
    // Ordered by time; the checker of the k6 side agrees with the header.
    const seconds = schedule.sessions.map((x) => x[0] * schedule.pools[x[2]]!.tickSeconds);
    for (let k = 1; k < seconds.length; k++) expect(seconds[k]).toBeGreaterThanOrEqual(seconds[k - 1]!);
    expect(() => checkSchedule(schedule as unknown as Schedule)).not.toThrow();
    expect(lastEventSeconds(schedule as unknown as Schedule)).toBeGreaterThan(20 * 3600);
  });

  it('is refused by the k6 side when it does not add up', () => {
    const broken = { ...schedule, pools: schedule.pools.map((p, i) => (i === 0 ? { ...p, sessions: p.sessions + 1 } : p)) };
    expect(() => checkSchedule(broken as unknown as Schedule)).toThrow(`pool vpn: the schedule lists ${schedule.pools[0]!.sessions} sessions, its header says ${schedule.pools[0]!.sessions + 1}`);
    expect(() => checkSchedule({ ...schedule, format: 'x' } as unknown as Schedule)).toThrow('not a replay schedule');
  });

  it('played against a broker of exactly the planned capacity, refuses exactly what the simulation predicted', () => {
    const { tally, overlap, active } = replayWithStandIn(schedule, 1, 240);
    expect(overlap).toBe(0);
    expect(active).toEqual([0, 0]);
    schedule.pools.forEach((p, i) => {
      const t = tally[i]!;
      expect({ attempts: t.attempts, admitted: t.admitted, refused: t.refused['pool-full'] ?? 0, gaveUp: t.gaveUp }).toEqual({
        attempts: p.predicted.attempts,
        admitted: p.predicted.admitted,
        refused: p.predicted.refused,
        gaveUp: p.predicted.gaveUp,
      });
      expect(t.released).toBe(t.admitted);
      expect(t.lost).toBe(0);
    });
    // Sessions that outlast the heartbeat interval once compressed were kept alive.
    expect(tally[0]!.heartbeats).toBeGreaterThan(0);
  });

  it('gives every employee to one lane, and no employee two sessions of a pool at once', () => {
    const lanes = splitLanes(schedule as unknown as Schedule, 7);
    expect(lanes.flat()).toHaveLength(schedule.sessions.length);
    const laneOf = new Map<string, number>();
    lanes.forEach((lane, l) =>
      lane.forEach((s) => {
        const who = `${s.pool}/${s.employee}`;
        expect(laneOf.get(who) ?? l).toBe(l);
        laneOf.set(who, l);
      }),
    );
    schedule.pools.forEach((p, i) => expect(new Set(schedule.sessions.filter((x) => x[2] === i).map((x) => x[3])).size).toBe(p.employees));
  });

  it('compares a replay with the prediction: agrees when the broker refused as predicted, says why when not', () => {
    const { tally } = replayWithStandIn(schedule, 1, 240);
    const counts: Record<string, { values: { count: number } }> = {};
    recordTally(tally, (name, n) => (counts[name] = { values: { count: (counts[name]?.values.count ?? 0) + n } }));
    const result = replayResultSchema.parse(
      buildResult(schedule as unknown as Schedule, { compress: 240, lanes: 1, baseUrl: 'http://127.0.0.1:8080', capacities: [420, 45] }, counts),
    );
    const same = compareReplay(schedule, result);
    expect(same.agrees).toBe(true);
    expect(formatComparison(same)).toContain('The broker refused what the simulation predicted.');

    const more = structuredClone(result);
    more.pools[0]!.refused['pool-full'] = 2 * Math.max(schedule.pools[0]!.acrossDays.refused[2], schedule.pools[0]!.predicted.refused) + 100;
    more.pools[0]!.refused['employee-at-limit'] = 4;
    const differs = compareReplay(schedule, more);
    expect(differs.agrees).toBe(false);
    expect(differs.pools[0]!.verdict).toBe('differs');
    expect(differs.pools[0]!.notes.join('\n')).toContain('4 refused employee-at-limit');

    const otherCapacity = structuredClone(result);
    otherCapacity.pools[1]!.capacity = 1800;
    expect(compareReplay(schedule, otherCapacity).pools[1]!.verdict).toBe('not comparable');

    const queued = structuredClone(result);
    queued.pools[0]!.queued = 3;
    const waiting = compareReplay(schedule, queued);
    expect(waiting.pools[0]!.verdict).toBe('not comparable');
    expect(waiting.pools[0]!.notes.join('\n')).toContain('3 requests were queued: the pool has a waiting room');

    const otherDay = structuredClone(result);
    otherDay.schedule.day = 1;
    expect(() => compareReplay(schedule, otherDay)).toThrow('day 1');
  });
});
