import { z } from 'zod';
import { REPLAY_FORMAT, type ReplaySchedule } from './replay-schedule';

export const RESULT_FORMAT = 'telework-broker-replay-result/1';

/** Refusals the simulation models: the pool had no room for the request. */
const CAPACITY_CODES = ['pool-full', 'capacity-reserved'] as const;

const countSchema = z.number().int().min(0);
export const replayResultSchema = z.object({
  format: z.literal(RESULT_FORMAT, { errorMap: () => ({ message: `must be "${RESULT_FORMAT}" (written by load-tests/replay-plan.js)` }) }),
  schedule: z.object({ scenario: z.string(), seed: z.number(), variant: z.string(), day: z.number() }),
  compress: z.number().positive(),
  lanes: z.number().int().positive(),
  baseUrl: z.string(),
  latenessMs: z.object({ p95: z.number().nullable(), max: z.number().nullable() }),
  pools: z.array(
    z.object({
      id: z.string(),
      capacity: z.number().int().nullable(),
      attempts: countSchema,
      admitted: countSchema,
      reconnected: countSchema,
      queued: countSchema,
      refused: z.record(z.string(), countSchema),
      gaveUp: countSchema,
      errors: countSchema,
      released: countSchema,
      heartbeats: countSchema,
      lost: countSchema,
    }),
  ),
});
export type ReplayResult = z.infer<typeof replayResultSchema>;

export interface PoolComparison {
  pool: string;
  planCapacity: number;
  brokerCapacity: number | null;
  predicted: { attempts: number; refused: number; gaveUp: number };
  /** Refused requests at this capacity over all simulated days: 2.5 %, 50 %, 97.5 %. */
  acrossDays: [number, number, number];
  observed: { attempts: number; refused: number; gaveUp: number; refusedByCode: Record<string, number>; errors: number };
  verdict: 'agrees' | 'differs' | 'not comparable';
  notes: string[];
}

export interface Comparison {
  scenario: string;
  day: number;
  pools: PoolComparison[];
  agrees: boolean;
}

/**
 * Sets what the broker refused beside what the simulation predicted for the day replayed.
 * They agree when the capacity refusals (pool-full, capacity-reserved) are within 10 % (at least
 * 10 requests) of the prediction for that very day, or within the range of 95 % of simulated days.
 */
export function compareReplay(schedule: ReplaySchedule, result: ReplayResult): Comparison {
  if (schedule.format !== REPLAY_FORMAT) throw new Error(`not a replay schedule of ${REPLAY_FORMAT}`);
  const id = result.schedule;
  if (id.scenario !== schedule.scenario || id.seed !== schedule.seed || id.day !== schedule.day || id.variant !== schedule.variant) {
    throw new Error(
      `the result is of ${id.scenario} seed ${id.seed} day ${id.day} (${id.variant}), the schedule of ${schedule.scenario} seed ${schedule.seed} day ${schedule.day} (${schedule.variant})`,
    );
  }
  const pools = schedule.pools.map((sp): PoolComparison => {
    const rp = result.pools.find((p) => p.id === sp.id);
    if (!rp) throw new Error(`the result has no pool ${sp.id}`);
    const refusedByCode = rp.refused;
    const refused = CAPACITY_CODES.reduce((s, c) => s + (refusedByCode[c] ?? 0), 0);
    const notes: string[] = [];
    const others = Object.entries(refusedByCode).filter(([c]) => !(CAPACITY_CODES as readonly string[]).includes(c));
    for (const [code, n] of others) {
      notes.push(
        code === 'agency-at-maximum'
          ? `${n} refused agency-at-maximum: an agency reached its maximum (the simulation models the pool, not agency shares)`
          : code === 'employee-at-limit'
            ? `${n} refused employee-at-limit: an employee still held a session (a lane fell behind, or a release failed)`
            : `${n} refused ${code}: not a capacity refusal; check the broker's configuration`,
      );
    }
    if (rp.queued > 0) notes.push(`${rp.queued} requests were queued: the pool has a waiting room, and the plan models a pool that refuses; replay against a configuration without one`);
    if (rp.errors > 0) notes.push(`${rp.errors} requests failed (no answer, or an unexpected one)`);
    if (rp.reconnected > 0) notes.push(`${rp.reconnected} requests found the employee's session still held (reconnect)`);
    if (rp.lost > 0) notes.push(`${rp.lost} sessions were lost before their release (lease expired: heartbeat more often, or compress more)`);
    const comparable = (rp.capacity === null || rp.capacity === sp.capacity) && rp.queued === 0;
    if (!comparable) notes.push(`the broker's capacity was ${rp.capacity}, the prediction is for ${sp.capacity}: run the plan with the broker's capacities`);
    const tolerance = Math.max(10, 0.1 * sp.predicted.refused);
    const [lo, , hi] = sp.acrossDays.refused;
    const agrees = Math.abs(refused - sp.predicted.refused) <= tolerance || (refused >= lo && refused <= hi);
    return {
      pool: sp.id,
      planCapacity: sp.capacity,
      brokerCapacity: rp.capacity,
      predicted: { attempts: sp.predicted.attempts, refused: sp.predicted.refused, gaveUp: sp.predicted.gaveUp },
      acrossDays: sp.acrossDays.refused,
      observed: { attempts: rp.attempts, refused, gaveUp: rp.gaveUp, refusedByCode, errors: rp.errors },
      verdict: !comparable ? 'not comparable' : agrees ? 'agrees' : 'differs',
      notes,
    };
  });
  if (result.latenessMs.p95 !== null && result.latenessMs.p95 > 1000) {
    pools.forEach((p) => p.notes.push(`the replay ran late (95 % of events within ${Math.round(result.latenessMs.p95!)} ms): use more LANES or less compression`));
  }
  return { scenario: schedule.scenario, day: schedule.day, pools, agrees: pools.every((p) => p.verdict === 'agrees') };
}

/** The comparison as text for a terminal. */
export function formatComparison(c: Comparison): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-GB');
  const lines = [`Replay of ${c.scenario}, simulated day ${c.day}: broker against simulation`, ''];
  for (const p of c.pools) {
    lines.push(
      `${p.pool} (capacity ${n(p.planCapacity)}${p.brokerCapacity !== null && p.brokerCapacity !== p.planCapacity ? `, broker ${n(p.brokerCapacity)}` : ''}): ${p.verdict.toUpperCase()}`,
      `  requests         predicted ${n(p.predicted.attempts).padStart(9)}   broker ${n(p.observed.attempts).padStart(9)}`,
      `  refused          predicted ${n(p.predicted.refused).padStart(9)}   broker ${n(p.observed.refused).padStart(9)}   (95 % of simulated days: ${n(p.acrossDays[0])}–${n(p.acrossDays[2])})`,
      `  gave up          predicted ${n(p.predicted.gaveUp).padStart(9)}   broker ${n(p.observed.gaveUp).padStart(9)}`,
    );
    const codes = Object.entries(p.observed.refusedByCode);
    if (codes.length > 0) lines.push(`  refusals by code: ${codes.map(([k, v]) => `${k} ${n(v)}`).join(', ')}`);
    for (const note of p.notes) lines.push(`  note: ${note}`);
    lines.push('');
  }
  lines.push(c.agrees ? 'The broker refused what the simulation predicted.' : 'The broker and the simulation disagree: see the notes above.');
  return lines.join('\n') + '\n';
}
