import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { Principal } from '../../src/auth/principal';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';
import { ConfigRepository } from '../../src/repositories/config.repository';
import type { LeaseStore } from '../../src/repositories/lease-store';
import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { PubSubRepository } from '../../src/repositories/pubsub.repository';
import { RedisLeaseStore } from '../../src/repositories/redis/redis-lease.store';
import { BrokerEvents } from '../../src/services/broker-events';
import { LiveUpdatesService } from '../../src/services/live-updates.service';
import { WAITING_TOPIC, WaitingRoomService } from '../../src/services/waiting-room.service';
import { deleteKeys, testConfig, TEST_REDIS_URL } from '../support/test-app';

const T0 = 1_700_000_000_000;
const CHECK_IN_MS = 3_000; // test/fixtures/waiting-checkin.yaml

/** Captures what would go to owners' live pages. */
class CapturingLive extends LiveUpdatesService {
  readonly sent: { topic: string; owner: string; event: string; data: unknown }[] = [];
  override publishToOwner(topic: string, owner: string, event: string, data: unknown): Promise<void> {
    this.sent.push({ topic, owner, event, data });
    return Promise.resolve();
  }
}

const employee = (owner: string): Principal => ({ owner, agency: 'alpha', roles: new Set(['employee']), members: new Set() });

describe.each(['memory', 'redis'] as const)('WaitingRoomService: check-in by ping (%s store)', (kind) => {
  const config = new ConfigRepository(testConfig({ file: 'waiting-checkin.yaml' }));
  const prefix = `test:${randomUUID()}:`;
  let now: number;
  let store: LeaseStore;
  let live: CapturingLive;
  let service: WaitingRoomService;

  beforeEach(async () => {
    now = T0;
    const options = { reapBatch: 100, bulkRenewalGraceMs: 0, idempotencyTtlMs: 600_000, clock: () => now };
    store = kind === 'memory' ? new MemoryLeaseStore(options) : new RedisLeaseStore(new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 }), { ...options, keyPrefix: prefix });
    await store.syncPools(poolSpecsFromConfig(config.get().broker));
    live = new CapturingLive(new PubSubRepository(config));
    service = new WaitingRoomService(store, live, new BrokerEvents(), config);
    service.onModuleInit();
  });
  afterEach(async () => {
    service.beforeApplicationShutdown();
    await store.close();
    if (kind === 'redis') await deleteKeys(prefix);
  });

  const grant = (owner: string, wait = false) => store.grant({ pool: 'vpn-c', owner, agency: 'alpha', clientId: 'c', newGrantId: `vpn-c.${owner.padEnd(16, '0')}`, ...(wait ? { wait } : {}) });

  it('the waiting topic checks the pinging owner in: a later deadline, pushed to their pages', async () => {
    expect(await grant('holder')).toMatchObject({ ok: true, value: { outcome: 'created' } });
    expect(await grant('waiter', true)).toMatchObject({ ok: true, value: { outcome: 'queued', ticket: { checkInBy: T0 + CHECK_IN_MS } } });
    now += 2_000;
    await live.pinged(employee('waiter'), [WAITING_TOPIC]);
    expect(await store.ticketOf('vpn-c', 'waiter')).toMatchObject({ state: 'waiting', checkInBy: T0 + 2_000 + CHECK_IN_MS });
    expect(live.sent).toEqual([{ topic: WAITING_TOPIC, owner: 'waiter', event: 'ticket', data: expect.objectContaining({ position: 1, state: 'waiting' }) }]);
    // Someone with no place in line pings: nothing happens.
    await live.pinged(employee('nobody'), [WAITING_TOPIC]);
    expect(live.sent).toHaveLength(1);
  });

  it('an offer is not checked in (it is claimed); a place already lost is skipped quietly', async () => {
    await grant('holder');
    await grant('waiter', true);
    await grant('late', true);
    expect(await store.release('vpn-c', 'vpn-c.holder0000000000', 'holder')).toMatchObject({ ok: true });
    live.sent.length = 0;
    expect(await service.checkInAll(employee('waiter'))).toEqual([]);
    expect((await store.ticketOf('vpn-c', 'waiter'))?.state).toBe('offered');
    expect(live.sent.filter((s) => s.event === 'ticket')).toEqual([]);
    now += CHECK_IN_MS; // 'late' missed its deadline
    expect(await service.checkInAll(employee('late'))).toEqual([]);
    expect(await store.getTicket('vpn-c', 'vpn-c.late000000000000')).toEqual({ ok: false, failure: 'ticket-not-found' });
  });
});
