import { GRANT_ID, newGrantId } from '../../src/domain/grant';

describe('newGrantId', () => {
  it('makes ids of the pool with 12 base64url characters, across refills of its random buffer', () => {
    const ids = Array.from({ length: 2_000 }, () => newGrantId('vpn-statenet')); // about four refills of 512
    for (const id of ids) {
      const m = GRANT_ID.exec(id);
      expect(m?.[1]).toBe('vpn-statenet');
      expect(m?.[2]).toHaveLength(12);
    }
    // 72 random bits each: a repeat would mean bytes of the buffer handed out twice.
    expect(new Set(ids).size).toBe(ids.length);
  });
});
