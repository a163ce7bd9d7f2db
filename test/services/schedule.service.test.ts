import { schedulesSchema } from '../../src/config/operations.schema';
import { ScheduleService } from '../../src/services/schedule.service';
import { harness, operatorRecords, type Harness } from './operations-harness';

// 2026-11-23 is a Monday.
const at = (day: number, hh: number, mm = 0) => Date.UTC(2026, 10, day, hh, mm);

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met');
}

const schedules = schedulesSchema.parse({
  timezone: 'UTC',
  capacityPlans: [{ id: 'peak', pool: 'vdi-b', days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '09:00', set: { licenceLimit: 6, agencies: { gamma: { maximum: 3 } } } }],
  maintenanceWindows: [{ id: 'patch', pool: 'vpn-a', members: ['gw-2'], days: ['mon'], from: '12:00', to: '13:00', reason: 'patching' }],
});

describe.each(['memory', 'redis'] as const)('schedules (%s store, injected clock)', (kind) => {
  let h: Harness;
  const services: ScheduleService[] = [];
  const service = (r: Pick<Harness, 'changes' | 'cron' | 'clock' | 'metrics'> = h) => {
    const s = new ScheduleService(h.store, r.changes, r.cron, r.clock, h.config, r.metrics);
    services.push(s);
    return s;
  };

  beforeEach(async () => {
    h = await harness(kind, at(23, 8), (b) => (b.schedules = schedules));
  });
  afterEach(async () => {
    services.length = 0;
    await h.close();
  });

  it('schedules each window’s start and end and a minutely check with node-cron, and catches up at start-up', async () => {
    const s = service();
    s.onApplicationBootstrap();
    expect([...h.cron.jobs.entries()].map(([n, j]) => [n, j.expression, j.timezone])).toEqual([
      ['schedule:peak:start', '0 0 7 * * 1,2,3,4,5', 'UTC'],
      ['schedule:peak:end', '0 0 9 * * 1,2,3,4,5', 'UTC'],
      ['schedule:patch:start', '0 0 12 * * 1', 'UTC'],
      ['schedule:patch:end', '0 0 13 * * 1', 'UTC'],
      ['schedule:check', '0 * * * * *', 'UTC'],
    ]);
    // Start-up at 08:00 on a Monday: the peak plan is in force.
    await eventually(async () => (await h.store.getPoolSpec('vdi-b'))!.licenceLimit === 6);
  });

  it('applies the step in force once: start, then nothing until the end, then end', async () => {
    const s = service();
    expect(await s.reconcile()).toEqual({ peak: 'applied', patch: 'unchanged' }); // the patch window's step in force: last Monday's end
    const spec = (await h.store.getPoolSpec('vdi-b'))!;
    expect([spec.licenceLimit, spec.agencies.find((a) => a.id === 'gamma')!.maximum]).toEqual([6, 3]);
    h.clock.at = at(23, 8, 30);
    expect(await s.reconcile()).toEqual({ peak: 'not-claimed', patch: 'not-claimed' });
    h.clock.at = at(23, 9);
    expect((await s.reconcile()).peak).toBe('applied');
    expect((await h.store.getPoolLayers('vdi-b'))!.overrides).toEqual({});
    expect((await operatorRecords(h.store, 'vdi-b')).map((r) => [r.by, r.act])).toEqual([
      ['schedule:peak', 'schedule-start'],
      ['schedule:peak', 'schedule-end'],
    ]);
  });

  it('a maintenance window drains and returns its members; a change made meanwhile stays', async () => {
    h.clock.at = at(23, 12, 0);
    const s = service();
    await s.reconcile();
    expect((await h.store.getPoolSpec('vpn-a'))!.members[1]).toMatchObject({ id: 'gw-2', state: 'drain', stateBy: 'schedule:patch', stateReason: 'patching' });
    // An operator raises gw-2 meanwhile; the window's end returns the state only.
    const l = (await h.store.getPoolLayers('vpn-a'))!;
    await h.store.setPoolOverrides('vpn-a', { members: { 'gw-2': { ...l.overrides.members!['gw-2'], maxSessions: 5 } } }, l.revision);
    h.clock.at = at(23, 13, 0);
    await s.reconcile();
    expect((await h.store.getPoolLayers('vpn-a'))!.overrides).toEqual({ members: { 'gw-2': { maxSessions: 5 } } });
    expect((await h.store.getPoolSpec('vpn-a'))!.members[1]).toEqual({ id: 'gw-2', host: 'gw-2.test', maxSessions: 5, state: 'active' });
  });

  it('several replicas firing the same occurrence at once apply it once', async () => {
    const replicas = [service(), service(h.replica()), service(h.replica())];
    const outcomes = await Promise.all(replicas.map((s) => s.reconcile(at(23, 8))));
    expect(outcomes.map((o) => o.peak).sort()).toEqual(['applied', 'not-claimed', 'not-claimed']);
    expect((await operatorRecords(h.store, 'vdi-b')).filter((r) => r.act === 'schedule-start')).toHaveLength(1);
  });

  it('a node-cron firing applies the step of its occurrence', async () => {
    h.clock.at = at(23, 6, 59);
    const s = service();
    s.onApplicationBootstrap();
    // The catch-up (racing this check; one of them claims): Friday's end is in force, nothing to change.
    expect(Object.values(await s.reconcile()).every((o) => o === 'unchanged' || o === 'not-claimed')).toBe(true);
    expect((await h.store.getPoolSpec('vdi-b'))!.licenceLimit).toBe(4);
    await h.cron.fire('schedule:peak:start', at(23, 7)); // the replica clock may lag a little behind the occurrence
    expect((await h.store.getPoolSpec('vdi-b'))!.licenceLimit).toBe(6);
  });

  it('skips (and audits) a step that would break a rule by now, and does not retry it', async () => {
    // The plan fits the file (guarantees 1 <= 2), but an operator has raised a guarantee to 3 since.
    const l = (await h.store.getPoolLayers('vdi-b'))!;
    await h.store.setPoolOverrides('vdi-b', { agencies: { alpha: { guaranteed: 3 } } }, l.revision);
    const narrow = schedulesSchema.parse({ timezone: 'UTC', capacityPlans: [{ id: 'tight', pool: 'vdi-b', days: ['mon'], from: '07:00', to: '09:00', set: { licenceLimit: 2 } }] });
    h.config.get().broker.schedules = narrow;
    const s = service();
    expect(await s.reconcile()).toEqual({ tight: 'skipped' });
    expect((await h.store.getPoolSpec('vdi-b'))!.licenceLimit).toBe(4);
    const rec = (await operatorRecords(h.store, 'vdi-b')).at(-1)!;
    expect([rec.by, rec.act]).toEqual(['schedule:tight', 'schedule-start-skipped']);
    expect(JSON.parse(rec.d).problem).toMatch(/guaranteed/);
    expect(await s.reconcile()).toEqual({ tight: 'not-claimed' });
  });
});
