import { agentRound, gatewayThresholds, keepAliveLoad } from '../../load-tests/lib/keep-alive.js';

describe('keeping sessions alive: clients or gateways', () => {
  it('costs the broker TARGET ÷ RENEW_INTERVAL heartbeats/s with clients, 2 requests per member per interval with gateways', () => {
    expect(keepAliveLoad('clients', 60000, 12, 40)).toEqual({ mode: 'clients', requestsPerSecond: 1500, idsPerRenewal: 1 });
    expect(keepAliveLoad('gateways', 60000, 12, 40)).toEqual({ mode: 'gateways', requestsPerSecond: 0.6, idsPerRenewal: 5000 }); // 12 × 2 / 40 s
    expect(keepAliveLoad('gateways', 6000, 12, 40).idsPerRenewal).toBe(500);
    expect(() => keepAliveLoad('gateways', 600, 0, 40)).toThrow('at least one member');
    expect(() => keepAliveLoad('heartbeats' as never, 600, 12, 40)).toThrow('KEEPALIVE must be one of clients, gateways');
  });

  it('holds both of a gateway agent’s requests to the bulk thresholds', () => {
    expect(gatewayThresholds('agents', 250, 500)).toEqual({
      'http_req_duration{scenario:agents,name:bulk-renewal}': ['p(95)<250', 'p(99)<500'],
      'http_req_duration{scenario:agents,name:member-grants}': ['p(95)<250', 'p(99)<500'],
    });
  });

  describe('an agent’s count of lost sessions', () => {
    const ok = (renewed: number) => ({ renewed, expired: 0, unknown: [] as string[] });

    it('counts nothing while every session seen stays listed and renewed, new ones joining', () => {
      let s = agentRound({ seen: [] }, ['a', 'b'], ok(2));
      expect(s.lost).toBe(0);
      s = agentRound(s, ['a', 'b', 'c'], ok(3));
      expect([s.lost, [...s.seen]]).toEqual([0, ['a', 'b', 'c']]);
    });

    it('counts a session seen before that the broker no longer lists, once', () => {
      let s = agentRound({ seen: ['a', 'b', 'c'] }, ['a', 'b', 'c'], ok(3));
      s = agentRound(s, ['a'], ok(1));
      expect(s.lost).toBe(2);
      s = agentRound(s, ['a'], ok(1));
      expect(s.lost).toBe(0);
    });

    it('counts what setup() held there and the first listing lacks', () => {
      expect(agentRound({ seen: ['a', 'b'] }, ['b', 'x'], ok(2)).lost).toBe(1);
    });

    it('counts ids the renewal found gone or expired, each once across rounds', () => {
      let s = agentRound({ seen: [] }, ['a', 'b', 'c', 'd'], { renewed: 2, expired: 1, unknown: ['d'] });
      expect(s.lost).toBe(2);
      expect([...s.seen].sort()).toEqual(['a', 'b', 'c']);
      // The expired one (which, the answer does not say) is missing from the next listing: not counted again.
      s = agentRound(s, ['a', 'b'], ok(2));
      expect(s.lost).toBe(0);
      s = agentRound(s, ['b'], ok(1));
      expect(s.lost).toBe(1);
    });

    it('learns from the listing even when the renewal was not answered', () => {
      const s = agentRound({ seen: ['a', 'b'] }, ['a'], null);
      expect([s.lost, [...s.seen]]).toEqual([1, ['a']]);
    });
  });
});
