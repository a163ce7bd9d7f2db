import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { mintToken } from '../../src/auth/token-minter';
import { loadAppConfig } from '../../src/config/config.loader';
import { liveChannel } from '../../src/repositories/pubsub.repository';
import { deleteKeys, TEST_JWT_SECRET, TEST_PSEUDONYM_KEY, TEST_REDIS_URL } from '../support/test-app';
import { api, PORTS, repoRoot, sample, scrape, spawnBroker, type BrokerProcess } from './support/broker';
import { isEvent, LiveClient } from './support/ws-client';

/**
 * Two broker processes on one Redis, as behind a load balancer: a page on either replica sees the
 * other's changes (through Redis pub/sub), and both report the same shared-state gauges.
 */
describe('two replicas on one Redis', () => {
  const prefix = `test:${randomUUID()}:`;
  const env = {
    BROKER_CONFIG: resolve(repoRoot, 'test/fixtures/small.yaml'),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    BROKER_JWT_SECRET: TEST_JWT_SECRET,
    BROKER_PSEUDONYM_KEY: TEST_PSEUDONYM_KEY,
    BROKER_STATE_DIR: join(tmpdir(), 'broker-test-state'),
  };
  const config = loadAppConfig(env);
  const token = (sub: string, agency = 'alpha', roles = ['employee']) => mintToken({ sub, agency, roles }, config.broker.auth, TEST_JWT_SECRET);
  let a: BrokerProcess;
  let b: BrokerProcess;
  let tap: Redis;
  const heard: any[] = [];
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([spawnBroker(PORTS.replicaA, env), spawnBroker(PORTS.replicaB, env)]);
    tap = new Redis(TEST_REDIS_URL);
    tap.on('message', (_channel: string, text: string) => heard.push(JSON.parse(text)));
    await tap.subscribe(liveChannel(prefix));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    tap?.disconnect();
    await Promise.all([a?.stop(), b?.stop()]);
    await deleteKeys(prefix);
  });

  async function subscribed(url: string, t: string, topic: string): Promise<LiveClient> {
    const c = await LiveClient.connect(`${url.replace('http', 'ws')}/ws`);
    clients.push(c);
    c.send('auth', { token: t });
    await c.next(isEvent('auth'));
    c.send('subscribe', { topic });
    await c.next(isEvent('subscribed'));
    return c;
  }

  it('a grant on replica A reaches a capacity page connected to replica B', async () => {
    const page = await subscribed(b.url, await token('wall-screen', 'alpha', ['operator']), 'capacity');
    await page.next(isEvent('capacity.pool', (d) => d.id === 'vpn-a' && d.active === 0));

    const onB = page.upcoming(isEvent('capacity.pool', (d) => d.id === 'vpn-a' && d.active === 1));
    const g = await api(a.url, await token('e-1'), 'POST', '/v1/grants', { pool: 'vpn-a' });
    expect(g.status).toBe(201);
    expect((await onB).data.agencies.find((x: { id: string }) => x.id === 'alpha').active).toBe(1);
    // It travelled through Redis: A published the new snapshot on the deployment's channel.
    expect(heard.some((m) => m.topic === 'capacity' && m.data.id === 'vpn-a' && m.data.active === 1)).toBe(true);
  });

  it('replica B delivers what arrives on the Redis channel to its pages', async () => {
    const page = await subscribed(b.url, await token('wall-screen-2', 'alpha', ['operator']), 'capacity');
    const probe = page.upcoming(isEvent('capacity.pool', (d) => d.id === 'probe'));
    const pub = new Redis(TEST_REDIS_URL);
    await pub.publish(liveChannel(prefix), JSON.stringify({ topic: 'capacity', event: 'pool', data: { id: 'probe', at: new Date().toISOString() }, origin: 'test' }));
    pub.disconnect();
    expect((await probe).data.id).toBe('probe');
  });

  it('both replicas report the same shared-state gauges; each counts only its own grants', async () => {
    const t = await token('e-2', 'beta');
    expect((await api(b.url, t, 'POST', '/v1/grants', { pool: 'vpn-a' })).status).toBe(201);
    const [sa, sb] = await Promise.all([scrape(a.url), scrape(b.url)]);
    for (const series of ['broker_pool_active_sessions{pool="vpn-a"}', 'broker_agency_active_sessions{pool="vpn-a",agency="beta"}', 'broker_pool_free_sessions{pool="vpn-a"}']) {
      expect(sample(sa.body, series)).toBe(sample(sb.body, series));
    }
    expect(sample(sa.body, 'broker_pool_active_sessions{pool="vpn-a"}')).toBe(2);
    const created = (body: string, agency: string) => sample(body, `broker_grants_total{pool="vpn-a",agency="${agency}",outcome="created"}`);
    expect([created(sa.body, 'alpha'), created(sb.body, 'alpha')]).toEqual([1, 0]);
    expect([created(sa.body, 'beta'), created(sb.body, 'beta')]).toEqual([0, 1]);
  });
});
