import fc from 'fast-check';
import { expectedHeld, expectedHeldByClass, headroomAbove, poolCapacity, renewalIntervalProblem, renewalsPerSecond, vusForRate } from '../../load-tests/lib/expected.js';
import { allocateEmployees, countByAgency, interleaveAgencies } from '../../load-tests/lib/employees.js';
import { loadYamlFile } from '../../src/config/config.loader';
import { brokerConfigSchema } from '../../src/config/broker-config.schema';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';

interface Share {
  id: string;
  guaranteed: number;
  maximum: number;
}

/**
 * The admission rules 4, 7, 9 and 10 of docs/admission.md for one pool, one
 * request at a time (members only add up to the capacity here: with every
 * member in service, memberFree is capacity − active).
 */
function simulate(capacity: number, shares: Share[], arrivals: (string | { agency: string; headroom: number })[], headroom = 0): number {
  const count = new Map(shares.map((s) => [s.id, 0]));
  const byId = new Map(shares.map((s) => [s.id, s]));
  let active = 0;
  for (const arrival of arrivals) {
    // An arrival of a priority class sees less (or no) headroom above its rank.
    const a = typeof arrival === 'string' ? arrival : arrival.agency;
    const reservedAbove = typeof arrival === 'string' ? headroom : arrival.headroom;
    const share = byId.get(a);
    if (!share) continue; // not-entitled
    if (count.get(a)! >= share.maximum) continue; // agency-at-maximum
    const free = capacity - active;
    if (free < 1) continue; // pool-full
    let reserved = 0;
    for (const b of shares) if (b.id !== a) reserved += Math.max(0, b.guaranteed - count.get(b.id)!);
    if (free - reserved < 1) continue; // capacity-reserved
    if (free - reserved - reservedAbove < 1) continue; // headroom-reserved (10a)
    count.set(a, count.get(a)! + 1);
    active += 1;
  }
  return active;
}

const sample = poolSpecsFromConfig(loadYamlFile('config/broker.yaml', brokerConfigSchema));
const vpnSample = sample.find((p) => p.id === 'vpn-statenet')!;
/** The sample VPN pool without its crisis headroom, to look at guarantees and members alone. */
const vpn = { ...vpnSample, headroom: [] };
const vdi = sample.find((p) => p.id === 'vdi-desktop')!;

/** A pool whose guarantees fit its capacity, as config validation demands, and a demand per agency. */
const poolAndDemand = fc
  .array(fc.record({ guaranteed: fc.integer({ min: 0, max: 30 }), extra: fc.integer({ min: 1, max: 40 }), demand: fc.integer({ min: 0, max: 80 }) }), {
    minLength: 1,
    maxLength: 5,
  })
  .chain((agencies) => {
    const sumG = agencies.reduce((s, a) => s + a.guaranteed, 0);
    // As configuration validation demands: guarantees and headroom fit the capacity.
    return fc.integer({ min: 0, max: 30 }).chain((headroom) =>
      fc.record({
        capacity: fc.integer({ min: Math.max(1, sumG + headroom), max: sumG + headroom + 120 }),
        headroom: fc.constant(headroom),
        seed: fc.integer(),
        agencies: fc.constant(agencies),
      }),
    );
  });

function shuffled<T>(list: T[], seed: number): T[] {
  const out = list.slice();
  let x = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1664525 + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('expected counts', () => {
  it('knows the capacity of the sample pools, with members out of service and the licence cap', () => {
    expect(poolCapacity(vpn)).toBe(60000);
    expect(poolCapacity(vpn, ['gw-03'])).toBe(55000);
    expect(poolCapacity({ ...vpn, members: vpn.members.map((m) => (m.id === 'gw-01' ? { ...m, state: 'drain' as const } : m)) })).toBe(55000);
    expect(poolCapacity(vdi)).toBe(1800);
    expect(poolCapacity(vdi, vdi.members.slice(0, 10).map((m) => m.id))).toBe(1500);
  });

  it('matches a step-by-step simulation of the admission rules, in any arrival order', () => {
    fc.assert(
      fc.property(poolAndDemand, ({ capacity, headroom, seed, agencies }) => {
        const shares = agencies.map((a, i) => ({ id: `a${i}`, guaranteed: a.guaranteed, maximum: a.guaranteed + a.extra }));
        const demand = Object.fromEntries(agencies.map((a, i) => [`a${i}`, a.demand]));
        const arrivals = shuffled(
          agencies.flatMap((a, i) => Array.from({ length: a.demand }, () => `a${i}`)).concat(['not-entitled']),
          seed,
        );
        const pool = {
          licenceLimit: capacity,
          members: [{ id: 'm', maxSessions: capacity + 1000 }],
          agencies: shares,
          headroom: [{ rank: 100, slots: headroom }, { rank: 0, slots: 7 }],
        };
        expect(simulate(capacity, shares, arrivals, headroom)).toBe(expectedHeld(pool, demand));
        // A class above every headroom band may use all of it.
        expect(simulate(capacity, shares, arrivals, 0)).toBe(expectedHeld(pool, demand, [], 100));
      }),
      { numRuns: 500 },
    );
  });

  it('expects exactly the capacity under overflow, and every logon granted up to it', () => {
    const demand = (n: number) => countByAgency(interleaveAgencies(allocateEmployees(n, vpn.agencies)));
    expect(expectedHeld(vpn, demand(66000))).toBe(60000);
    expect(expectedHeld(vpn, demand(60000))).toBe(60000);
    expect(expectedHeld(vpn, demand(1234))).toBe(1234);
    // One gateway lost at full load: 55,000 fit on the other eleven.
    expect(expectedHeld(vpn, demand(60000), ['gw-07'])).toBe(55000);
    // The sample keeps the last 500 tunnels for crisis staff: employees of the default class get 59,500.
    expect(headroomAbove(vpnSample, 0)).toBe(500);
    expect(expectedHeld(vpnSample, demand(66000))).toBe(59500);
    expect(expectedHeld(vpnSample, demand(66000), [], 100)).toBe(60000);
  });

  it('fills the sample pool to exactly 60,000 when the crisis staff prepared for its headroom arrive last', () => {
    for (const total of [60000, 66000, 30000]) {
      const order = interleaveAgencies(allocateEmployees(total, vpnSample.agencies));
      const crisis = total > 500 ? 500 : 0;
      const standard = order.slice(0, total - crisis);
      const arrivals = [...shuffled(standard, total), ...order.slice(total - crisis).map((agency) => ({ agency, headroom: 0 }))];
      const simulated = simulate(60000, vpnSample.agencies, arrivals, 500);
      expect([total, expectedHeldByClass(vpnSample, countByAgency(standard), [{ rank: 100, count: crisis }])]).toEqual([total, simulated]);
    }
    expect(expectedHeldByClass(vpnSample, countByAgency(interleaveAgencies(allocateEmployees(65500, vpnSample.agencies))), [{ rank: 100, count: 500 }])).toBe(60000);
  });

  it('keeps unused guarantees out of reach: an agency that does not come leaves its share empty', () => {
    const demand = countByAgency(interleaveAgencies(allocateEmployees(80000, vpn.agencies)));
    delete demand['justice'];
    // Justice is guaranteed 6,000; nobody else may take them.
    expect(expectedHeld(vpn, demand)).toBe(54000);
  });

  it('sizes renewals and virtual users', () => {
    expect(renewalsPerSecond(60000, 40)).toBe(1500);
    expect(vusForRate(1500, 0.01)).toBe(30);
    expect(vusForRate(0.1, 0.01)).toBe(1);
    expect(renewalIntervalProblem(40, 120)).toBeNull();
    expect(renewalIntervalProblem(90, 120)).toMatch('more than half the lease TTL');
  });
});
