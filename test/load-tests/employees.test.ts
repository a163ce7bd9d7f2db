import fc from 'fast-check';
import { allocateEmployees, apportion, countByAgency, employeeSubject, interleaveAgencies } from '../../load-tests/lib/employees.js';
import { loadYamlFile } from '../../src/config/config.loader';
import { brokerConfigSchema } from '../../src/config/broker-config.schema';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';

const vpn = poolSpecsFromConfig(loadYamlFile('config/broker.yaml', brokerConfigSchema)).find((p) => p.id === 'vpn-statenet')!;

const shares = fc
  .array(fc.record({ guaranteed: fc.integer({ min: 0, max: 5000 }), extra: fc.integer({ min: 1, max: 5000 }) }), { minLength: 1, maxLength: 15 })
  .map((list) => list.map((s, i) => ({ id: `agency-${i}`, guaranteed: s.guaranteed, maximum: s.guaranteed + s.extra })));

describe('synthetic employees', () => {
  it('names them recognisably synthetic and distinct', () => {
    expect(employeeSubject(0)).toBe('loadtest-employee-000001');
    expect(employeeSubject(59999)).toBe('loadtest-employee-060000');
    expect(employeeSubject(4, 'k6-')).toBe('k6-000005');
  });

  it('spreads 60,000 over the sample agencies: each at least its guarantee, none above its maximum', () => {
    const alloc = allocateEmployees(60000, vpn.agencies);
    expect(alloc.reduce((s, a) => s + a.count, 0)).toBe(60000);
    for (const a of alloc) {
      const share = vpn.agencies.find((s) => s.id === a.id)!;
      expect(a.count).toBeGreaterThanOrEqual(share.guaranteed);
      expect(a.count).toBeLessThanOrEqual(share.maximum);
    }
  });

  it('respects guarantees and maxima for any total and any shares', () => {
    fc.assert(
      fc.property(shares, fc.double({ min: 0, max: 1, noNaN: true }), (list, f) => {
        const sumM = list.reduce((s, a) => s + a.maximum, 0);
        const sumG = list.reduce((s, a) => s + a.guaranteed, 0);
        const total = Math.floor(f * sumM);
        const alloc = allocateEmployees(total, list);
        expect(alloc.reduce((s, a) => s + a.count, 0)).toBe(total);
        alloc.forEach((a, i) => {
          expect(a.count).toBeLessThanOrEqual(list[i]!.maximum);
          if (total >= sumG) expect(a.count).toBeGreaterThanOrEqual(list[i]!.guaranteed);
          else expect(a.count).toBeLessThanOrEqual(list[i]!.guaranteed);
        });
      }),
    );
  });

  it('refuses more employees than the agencies may ever hold', () => {
    expect(() => allocateEmployees(82501, vpn.agencies)).toThrow('exceed the sum of the agencies');
    expect(() => allocateEmployees(10, [])).toThrow('no agency');
  });

  it('apportions by largest remainder, deterministically', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(10, [5, 3, 2], [4, 10, 10])).toEqual([4, 4, 2]);
    expect(apportion(0, [1, 2])).toEqual([0, 0]);
    expect(() => apportion(5, [1, 1], [2, 2])).toThrow('cannot place 1 of 5');
  });

  it('interleaves agencies so that any prefix holds each in about its proportion', () => {
    const alloc = allocateEmployees(60000, vpn.agencies);
    const order = interleaveAgencies(alloc);
    expect(order).toHaveLength(60000);
    expect(countByAgency(order)).toEqual(Object.fromEntries(alloc.map((a) => [a.id, a.count])));
    for (const n of [100, 1000, 12345, 30000]) {
      const prefix = countByAgency(order, n);
      for (const a of alloc) expect(Math.abs((prefix[a.id] ?? 0) - (a.count * n) / 60000)).toBeLessThanOrEqual(1);
    }
  });
});
