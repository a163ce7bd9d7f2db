import { spawn, type ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { HealthController } from '../../src/controllers/health.controller';
import { startTestApp, type TestApp } from '../support/test-app';
import { PORTS, scrape, sample, startBroker, type RunningBroker } from './support/broker';

async function get(url: string): Promise<{ status: number; type: string; json: any }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: await res.json() };
}

/** A redis-server of this test's own on its loopback port, so it can be stopped without touching the shared one. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: null });
  await probe.ping();
  probe.disconnect();
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('health probes (embedded store)', () => {
  let b: RunningBroker;
  beforeAll(async () => {
    b = await startBroker({ port: PORTS.health });
  });
  afterAll(async () => {
    await b?.close();
  });

  it('is live and ready, without a token', async () => {
    expect(await get(`${b.url}/health/live`)).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await get(`${b.url}/health/ready`)).toMatchObject({ status: 200, json: { status: 'ok', info: { store: { status: 'up', kind: 'memory' } } } });
  });
});

describe('liveness answered without terminus', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers the body terminus gave for a check without indicators; while shutting down, live still and not ready (503 shutting-down, never a 500)', async () => {
    const live = () => t.app.inject({ method: 'GET', url: '/health/live' });
    const direct = await live();
    expect([direct.statusCode, direct.headers['content-type'], direct.json()]).toEqual([200, 'application/json; charset=utf-8', { status: 'ok', info: {}, error: {}, details: {} }]);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
    t.app.get(HealthController).onModuleDestroy(); // the first step of a shutdown
    const closing = await live();
    expect([closing.statusCode, closing.body]).toEqual([200, direct.body]);
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect([ready.statusCode, ready.headers['content-type'], ready.headers['retry-after']]).toEqual([503, 'application/problem+json; charset=utf-8', '1']);
    expect(ready.json()).toMatchObject({ code: 'shutting-down', status: 503 });
  });
});

describe('health probes on a Redis that goes away and comes back', () => {
  let redis: ChildProcess;
  let b: RunningBroker;
  const port = PORTS.healthRedisServer;

  beforeAll(async () => {
    redis = await startRedis(port);
    b = await startBroker({ port: PORTS.healthRedis, redis: true, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    await b?.close().catch(() => undefined);
    await stopRedis(redis);
  });

  it('is ready while Redis answers, not ready (503 store-unavailable) while it does not, and ready again after', async () => {
    expect(await get(`${b.url}/health/ready`)).toMatchObject({ status: 200, json: { info: { store: { status: 'up', kind: 'redis' } } } });

    await stopRedis(redis);
    const down = await get(`${b.url}/health/ready`);
    expect(down.status).toBe(503);
    expect(down.type).toMatch(/^application\/problem\+json/);
    expect(down.json).toMatchObject({ code: 'store-unavailable', status: 503 });
    // Still alive: restarting the process would not bring Redis back.
    expect((await get(`${b.url}/health/live`)).status).toBe(200);
    // The scrape still answers, says the store is down, and reports no stale shared-state figures.
    const { body } = await scrape(b.url);
    expect(sample(body, 'broker_store_up')).toBe(0);
    expect(sample(body, 'broker_pool_active_sessions{pool="vpn-a"}')).toBeUndefined();

    redis = await startRedis(port);
    let again = await get(`${b.url}/health/ready`);
    for (let i = 0; i < 100 && again.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await get(`${b.url}/health/ready`);
    }
    expect(again.status).toBe(200);
    expect(sample((await scrape(b.url)).body, 'broker_store_up')).toBe(1);
  });
});
