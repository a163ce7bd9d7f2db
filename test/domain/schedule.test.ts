import { schedulesSchema } from '../../src/config/operations.schema';
import { cronAt, lastOccurrence, overridesAtEnd, overridesAtStart, stepInForce, stepName } from '../../src/domain/schedule';
import { windowsFromConfig } from '../../src/config/schedule-windows';

const schedules = schedulesSchema.parse({
  timezone: 'Europe/Berlin',
  capacityPlans: [
    { id: 'peak', pool: 'p', days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '07:00', to: '09:00', set: { licenceLimit: 20, members: { m2: { maxSessions: 8, state: 'active' } }, agencies: { a: { maximum: 9 } } } },
    { id: 'night', pool: 'p', days: ['fri'], from: '22:00', to: '06:00:30', set: { perEmployeeLimit: 2 } },
  ],
  maintenanceWindows: [{ id: 'patch', pool: 'p', members: ['m1'], days: ['sun'], from: '02:00', to: '04:00' }],
});
const [peak, night, patch] = windowsFromConfig(schedules);
// 2026-11-23 is a Monday; Berlin is UTC+1 in November.
const berlin = (day: number, hh: number, mm = 0, ss = 0) => Date.UTC(2026, 10, day, hh - 1, mm, ss);

describe('scheduled windows', () => {
  it('build six-field cron expressions; a window ending at or before its start ends the next day', () => {
    expect(cronAt(['fri', 'mon', 'mon'], '07:05')).toBe('0 5 7 * * 1,5');
    expect([peak!.startCron, peak!.endCron]).toEqual(['0 0 7 * * 1,2,3,4,5', '0 0 9 * * 1,2,3,4,5']);
    expect([night!.startCron, night!.endCron]).toEqual(['0 0 22 * * 5', '30 0 6 * * 6']);
    expect(patch).toMatchObject({ kind: 'maintenance-window', changes: { members: { m1: { state: 'drain' } } }, reason: 'maintenance window patch' });
  });

  it('find the last occurrence at or before now, in the time zone', () => {
    expect(lastOccurrence(peak!.startCron, 'Europe/Berlin', berlin(23, 7))).toBe(berlin(23, 7));
    expect(lastOccurrence(peak!.startCron, 'Europe/Berlin', berlin(23, 6, 59, 59))).toBe(berlin(20, 7)); // the Friday before
  });

  it('the step in force: start inside the window, end outside it, across midnight too', () => {
    expect(stepInForce(peak!, berlin(23, 8))).toMatchObject({ phase: 'start', at: berlin(23, 7) });
    expect(stepInForce(peak!, berlin(23, 9))).toMatchObject({ phase: 'end', at: berlin(23, 9) });
    expect(stepInForce(peak!, berlin(22, 12))).toMatchObject({ phase: 'end', at: berlin(20, 9) }); // Sunday
    expect(stepInForce(night!, berlin(21, 3))).toMatchObject({ phase: 'start', at: berlin(20, 22) }); // Saturday 03:00
    expect(stepInForce(night!, berlin(21, 6, 0, 30))).toMatchObject({ phase: 'end', at: berlin(21, 6, 0, 30) });
    expect(stepName(stepInForce(peak!, berlin(23, 8)))).toBe(`schedule:p:peak:start:${berlin(23, 7)}`);
  });

  it('start writes the changes (member states with author and reason); end takes back only what still holds them', () => {
    const started = overridesAtStart({ members: { m2: { maxSessions: 3 } }, breakers: {} }, peak!, 42);
    expect(started).toEqual({
      licenceLimit: 20,
      members: { m2: { maxSessions: 8, state: 'active', stateBy: 'schedule:peak', stateReason: 'capacity plan peak', stateSince: 42 } },
      agencies: { a: { maximum: 9 } },
      breakers: {},
    });
    // Someone changed the licence and m2's state meanwhile: those stay.
    started.licenceLimit = 25;
    started.members!.m2!.stateBy = 'operator';
    expect(overridesAtEnd(started, peak!)).toEqual({
      licenceLimit: 25,
      members: { m2: { state: 'active', stateBy: 'operator', stateReason: 'capacity plan peak', stateSince: 42 } },
      breakers: {},
    });
    expect(overridesAtEnd(overridesAtStart({}, patch!, 1), patch!)).toEqual({});
  });
});
