import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { zodProblems } from '../../src/config/config.loader';
import { brokerConfigSchema } from '../../src/config/broker-config.schema';

/** The small test model plus the given sections, as the loader would check them. */
function problems(extra: Record<string, unknown>): { path: string; reason: string }[] {
  const cfg = { ...(parse(readFileSync(resolve(__dirname, '..', 'fixtures', 'small.yaml'), 'utf8')) as object), ...extra };
  const r = brokerConfigSchema.safeParse(cfg);
  return r.success ? [] : zodProblems(r.error);
}

const plan = (over: Record<string, unknown> = {}) => ({ id: 'peak', pool: 'vpn-a', days: ['mon'], from: '07:00', to: '09:00', set: { members: { 'gw-1': { maxSessions: 5 } } }, ...over });

describe('operations sections of the config file', () => {
  it('are optional, with defaults', () => {
    const r = brokerConfigSchema.parse(parse(readFileSync(resolve(__dirname, '..', 'fixtures', 'small.yaml'), 'utf8')));
    expect(r.schedules).toEqual({ timezone: 'UTC', capacityPlans: [], maintenanceWindows: [] });
    expect(r.circuitBreaker).toBeUndefined();
    expect(r.audit).toEqual({ retentionDays: 90, trimCron: '17 3 * * *' });
    expect(r.leases.endWarningMinutes).toBe(10);
  });

  it('accept a plan, a window and a breaker', () => {
    expect(
      problems({
        schedules: { timezone: 'Europe/Berlin', capacityPlans: [plan()], maintenanceWindows: [{ id: 'w', pool: 'vdi-b', members: ['sh-1'], days: ['sun'], from: '22:00', to: '02:00', state: 'out-of-service' }] },
        circuitBreaker: { failureThreshold: 3, openSeconds: null },
      }),
    ).toEqual([]);
  });

  it.each([
    ['an unknown time zone', { schedules: { timezone: 'Mars/Olympus' } }, 'schedules.timezone', /IANA/],
    ['a bad time', { schedules: { capacityPlans: [plan({ from: '7:00' })] } }, 'schedules.capacityPlans[0].from', /HH:MM/],
    ['no days', { schedules: { capacityPlans: [plan({ days: [] })] } }, 'schedules.capacityPlans[0].days', /weekday/],
    ['a weekday typo', { schedules: { capacityPlans: [plan({ days: ['monday'] })] } }, 'schedules.capacityPlans[0].days[0]', /./],
    ['from equal to to', { schedules: { capacityPlans: [plan({ to: '07:00' })] } }, 'schedules.capacityPlans[0].to', /differ/],
    ['an unknown pool', { schedules: { capacityPlans: [plan({ pool: 'nope' })] } }, 'schedules.capacityPlans[0].pool', /unknown pool/],
    ['an unknown member', { schedules: { capacityPlans: [plan({ set: { members: { 'gw-9': { maxSessions: 1 } } } })] } }, 'schedules.capacityPlans[0].set.members', /no member "gw-9"/],
    ['an agency without a share', { schedules: { capacityPlans: [plan({ set: { agencies: { gamma: { maximum: 2 } } } })] } }, 'schedules.capacityPlans[0].set.agencies', /no share/],
    ['a plan that changes nothing', { schedules: { capacityPlans: [plan({ set: {} })] } }, 'schedules.capacityPlans[0].set', /change something/],
    ['an unknown field in a plan', { schedules: { capacityPlans: [plan({ set: { members: { 'gw-1': { maxSessions: 2, weight: 1 } } } })] } }, 'schedules.capacityPlans[0].set.members.gw-1', /[Uu]nrecognized/],
    ['a plan breaking the guarantees', { schedules: { capacityPlans: [plan({ set: { licenceLimit: 2 } })] } }, 'schedules.capacityPlans[0].set', /while in force: agencies guaranteed shares of all agencies add up to 3, more than the pool's capacity of 2/],
    ['a plan draining below the guarantees', { schedules: { capacityPlans: [plan({ set: { members: { 'gw-1': { state: 'drain' }, 'gw-2': { maxSessions: 2 } } } })] } }, 'schedules.capacityPlans[0].set.members', /^while in force, the members in service carry 2 sessions, less than the 3 guaranteed to the agencies: .*capacity-reserved/],
    ['a window taking out more than the guarantees leave', { schedules: { maintenanceWindows: [{ id: 'w', pool: 'vpn-a', members: ['gw-1', 'gw-2'], days: ['sun'], from: '01:00', to: '02:00' }] } }, 'schedules.maintenanceWindows[0].members', /carry 0 sessions, less than the 3 guaranteed .*take fewer members out at once$/],
    ['a duplicate id', { schedules: { capacityPlans: [plan()], maintenanceWindows: [{ id: 'peak', pool: 'vpn-a', members: ['gw-1'], days: ['sun'], from: '01:00', to: '02:00' }] } }, 'schedules.maintenanceWindows[0].id', /duplicate/],
    ['a window of an unknown member', { schedules: { maintenanceWindows: [{ id: 'w', pool: 'vpn-a', members: ['gw-7'], days: ['sun'], from: '01:00', to: '02:00' }] } }, 'schedules.maintenanceWindows[0].members', /no member "gw-7"/],
    ['a breaker threshold of 0', { circuitBreaker: { failureThreshold: 0 } }, 'circuitBreaker.failureThreshold', /greater than 0/],
    ['a mass-loss ratio above 1', { circuitBreaker: { massLoss: { ratio: 2 } } }, 'circuitBreaker.massLoss.ratio', /at most 1/],
    ['a bad trim schedule', { audit: { trimCron: 'every night' } }, 'audit.trimCron', /cron/],
  ])('refuse %s, naming where', (_n, extra, path, reason) => {
    const p = problems(extra);
    expect(p).toEqual(expect.arrayContaining([expect.objectContaining({ path, reason: expect.stringMatching(reason) })]));
  });
});
