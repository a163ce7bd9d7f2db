import type { ExpiredLease } from '../../src/domain/grant';
import { ConfigRepository } from '../../src/repositories/config.repository';
import type { LeasePort } from '../../src/repositories/lease-store';
import { BrokerEvents } from '../../src/services/broker-events';
import { SweeperService } from '../../src/services/sweeper.service';
import { testConfig } from '../support/test-app';

describe('SweeperService', () => {
  it('reaps in batches until a pool has none left, and lets other work run between batches', async () => {
    const expiring = [1000, 1000, 1000, 7]; // the first pool's batches; the other pools have none
    const order: string[] = [];
    const store = {
      reap: (pool: string) => {
        const n = expiring.shift() ?? 0;
        order.push(`reap ${n}`);
        return Promise.resolve(Array.from({ length: n }, (_, i) => ({ id: `${pool}.${i}`, pool, member: 'm', agency: 'a', owner: 'o' }) as unknown as ExpiredLease));
      },
    } as unknown as LeasePort;
    const sweeper = new SweeperService(store, new ConfigRepository(testConfig()), new BrokerEvents());
    const sweeping = sweeper.sweep();
    setImmediate(() => order.push('request'));
    expect(await sweeping).toBe(3007);
    // A request that came in during the sweep ran after the first batch, not after the whole sweep.
    expect(order.slice(0, 3)).toEqual(['reap 1000', 'request', 'reap 1000']);
  });
});
