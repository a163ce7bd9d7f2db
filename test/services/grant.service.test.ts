import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { Principal } from '../../src/auth/principal';
import type { Grant } from '../../src/domain/grant';
import type { PoolSpec } from '../../src/domain/pool-spec';
import { ConfigRepository } from '../../src/repositories/config.repository';
import type { LeaseStore } from '../../src/repositories/lease-store';
import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { RedisLeaseStore } from '../../src/repositories/redis/redis-lease.store';
import { BrokerEvents, type BrokerEventMap } from '../../src/services/broker-events';
import { GrantService } from '../../src/services/grant.service';
import { deleteKeys, testConfig, TEST_REDIS_URL } from '../support/test-app';

const T0 = 1_700_000_000_000;
const GRACE = 60_000;

const spec: PoolSpec = {
  id: 'vpn',
  kind: 'vpn',
  strategy: 'depth-first',
  licenceLimit: null,
  perEmployeeLimit: 5,
  leaseTtlMs: 120_000,
  retryAfterSeconds: 30,
  members: [
    { id: 'gw-1', maxSessions: 10, state: 'active' },
    { id: 'gw-2', maxSessions: 10, state: 'active' },
  ],
  agencies: [{ id: 'alpha', guaranteed: 0, maximum: 20 }],
};

const agent: Principal = { owner: 'agent-pseudonym', agency: 'alpha', roles: new Set(['gateway-agent']), members: new Set(['vpn/gw-1']) };

describe.each(['memory', 'redis'] as const)('GrantService.bulkRenew (%s store)', (kind) => {
  const prefix = `test:${randomUUID()}:`;
  let now: number;
  let store: LeaseStore;
  let events: BrokerEvents;
  let seen: { event: keyof BrokerEventMap; payload: unknown }[];
  let service: GrantService;

  beforeEach(async () => {
    now = T0;
    const options = { reapBatch: 100, bulkRenewalGraceMs: GRACE, idempotencyTtlMs: 600_000, clock: () => now };
    store = kind === 'memory' ? new MemoryLeaseStore(options) : new RedisLeaseStore(new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 }), { ...options, keyPrefix: prefix });
    await store.syncPools([spec]);
    events = new BrokerEvents();
    seen = [];
    for (const event of ['released', 'expired', 'renewed', 'bulkRenewed'] as const) events.on(event, (payload: unknown) => seen.push({ event, payload }));
    service = new GrantService(store, events, new ConfigRepository(testConfig()));
  });
  afterEach(async () => {
    await store.close();
    if (kind === 'redis') await deleteKeys(prefix);
  });

  async function lease(owner: string, n: number): Promise<Grant> {
    const r = await store.grant({ pool: 'vpn', owner, agency: 'alpha', clientId: `c${n}`, newGrantId: `vpn.${String(n).padStart(16, '0')}` });
    if (!r.ok || r.value.outcome !== 'created') throw new Error('not created');
    return r.value.grant;
  }
  const ended = (g: Grant) => ({ id: g.id, pool: g.pool, member: g.member, agency: g.agency, owner: g.owner });

  it('emits a released event per lease reported ended and an expired event per lease it reclaims; answers the counts', async () => {
    const [carried, gone, stale, dropped] = [await lease('o1', 1), await lease('o2', 2), await lease('o3', 3), await lease('o4', 4)];
    now = T0 + 1_000;
    await store.heartbeat('vpn', carried.id);
    await store.heartbeat('vpn', gone.id);
    await store.heartbeat('vpn', dropped.id);
    now = T0 + 120_000; // `stale` expired (never renewed); the others live, all past the grace
    const r = await service.bulkRenew(agent, 'vpn', 'gw-1', [carried.id, stale.id, 'vpn.ghostghostghost0'], [gone.id]);
    expect(r).toEqual({ renewed: 1, released: 1, expired: 2, unknown: ['vpn.ghostghostghost0'] });
    expect(seen).toEqual([
      { event: 'released', payload: { pool: 'vpn', agency: 'alpha', member: 'gw-1', grant: ended(gone) } },
      { event: 'expired', payload: { pool: 'vpn', agency: 'alpha', member: 'gw-1', id: stale.id, owner: 'o3' } },
      { event: 'expired', payload: { pool: 'vpn', agency: 'alpha', member: 'gw-1', id: dropped.id, owner: 'o4' } },
      { event: 'renewed', payload: { pool: 'vpn', member: 'gw-1', count: 1 } },
      { event: 'bulkRenewed', payload: { pool: 'vpn', member: 'gw-1', renewed: 1, released: 1, expired: 2 } },
    ]);
  });

  it('emits nothing for a refused report, and no lease events for a report that ends nothing', async () => {
    await lease('o1', 1);
    await expect(service.bulkRenew(agent, 'vpn', 'gw-2', [], [])).rejects.toMatchObject({ code: 'forbidden' });
    expect(seen).toEqual([]);
    expect(await service.bulkRenew(agent, 'vpn', 'gw-1', [], [])).toEqual({ renewed: 0, released: 0, expired: 0, unknown: [] }); // younger than the grace
    expect(seen.map((s) => s.event)).toEqual(['bulkRenewed']);
  });
});
