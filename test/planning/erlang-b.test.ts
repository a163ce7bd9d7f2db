import { erlangB, erlangBServers } from '../../src/planning/erlang-b';

describe('Erlang B', () => {
  it('gives the textbook values', () => {
    expect(erlangB(1, 1)).toBeCloseTo(0.5, 12);
    expect(erlangB(2, 1)).toBeCloseTo(0.2, 12);
    // Tables: E(10, 8) = 0.12166, E(100, 90) = 0.02696, E(0, A) = 1.
    expect(erlangB(10, 8)).toBeCloseTo(0.121661, 5);
    expect(erlangB(100, 90)).toBeCloseTo(0.026957, 5);
    expect(erlangB(0, 3)).toBe(1);
    expect(erlangB(5, 0)).toBe(0);
  });

  it('stays finite for a 60,000-server pool and falls as servers are added', () => {
    const near = erlangB(59000, 57000);
    expect(Number.isFinite(near)).toBe(true);
    expect(erlangB(60000, 57000)).toBeLessThan(near);
    expect(erlangB(55000, 57000)).toBeGreaterThan(near);
    for (let c = 1; c < 40; c++) expect(erlangB(c + 1, 20)).toBeLessThan(erlangB(c, 20));
  });

  it('finds the fewest servers for a target', () => {
    expect(erlangBServers(8, 0.01)).toBe(15);
    for (const [a, t] of [[8, 0.01], [90, 0.02], [1500, 0.005], [57000, 0.01]] as const) {
      const n = erlangBServers(a, t);
      expect(erlangB(n, a)).toBeLessThanOrEqual(t);
      expect(erlangB(n - 1, a)).toBeGreaterThan(t);
    }
  });

  it('refuses nonsense', () => {
    expect(() => erlangB(-1, 2)).toThrow(RangeError);
    expect(() => erlangB(1.5, 2)).toThrow(RangeError);
    expect(() => erlangB(3, NaN)).toThrow(RangeError);
    expect(() => erlangBServers(3, 0)).toThrow(RangeError);
  });
});
