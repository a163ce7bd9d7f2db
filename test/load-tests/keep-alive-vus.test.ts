import { keepAliveVUsFor } from '../../load-tests/lib/expected.js';

describe('keep-alive VUs of the k6 scenarios', () => {
  it('carry the renewals per second the sessions need at answers as slow as the p95 threshold, twice over', () => {
    expect(keepAliveVUsFor(60000, 40, 100)).toBe(300); // 1,500 renewals/s
    expect(keepAliveVUsFor(60000, 40, 50)).toBe(150);
    expect(keepAliveVUsFor(6000, 40, 100)).toBe(30);
    expect(keepAliveVUsFor(10, 40, 100)).toBe(1);
  });
});
