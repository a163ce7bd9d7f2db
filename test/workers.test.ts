import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { mintToken } from '../src/auth/token-minter';
import { startReplica, stopReplica, waitUntilServing, type Replica } from './support/broker-process';
import { deleteKeys, testConfig, TEST_JWT_SECRET } from './support/test-app';

/** BROKER_WORKERS=2: two broker processes behind one port (src/workers.ts). Port 22001 (this suite's own). */
describe('BROKER_WORKERS', () => {
  const prefix = `test:${randomUUID()}:`;
  const configFile = resolve(__dirname, 'fixtures', 'small.yaml');
  const auth = testConfig().broker.auth;
  let broker: Replica;

  beforeAll(async () => {
    broker = startReplica({ port: 22001, prefix, configFile, env: { BROKER_WORKERS: '2' } });
    await waitUntilServing(broker);
  }, 120_000);
  afterAll(async () => {
    await stopReplica(broker);
    await deleteKeys(prefix);
  });

  const children = () =>
    execFileSync('ps', ['-o', 'pid=', '--ppid', String(broker.proc.pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  it('runs two workers on one port; a scrape of /metrics counts what every worker did', async () => {
    // Both workers must be up (the first answers before the second is ready).
    for (let i = 0; i < 600 && children().length < 2; i++) await new Promise((ok) => setTimeout(ok, 100));
    expect(children()).toHaveLength(2);
    const base = `http://127.0.0.1:${broker.port}`;
    for (let i = 0; i < 100 && (await fetch(`${base}/health/ready`)).status !== 200; i++) await new Promise((ok) => setTimeout(ok, 100));
    const tokens = await Promise.all(Array.from({ length: 5 }, (_, i) => mintToken({ sub: `w-${i}`, agency: 'alpha' }, auth, TEST_JWT_SECRET)));
    for (const t of tokens) {
      // A new connection each: round-robin hands them to both workers.
      const r = await fetch(`${base}/v1/grants`, { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json', connection: 'close' }, body: '{"pool":"vpn-a"}' });
      expect(r.status).toBe(201);
    }
    for (let k = 0; k < 3; k++) {
      const text = await (await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).text();
      const created = [...text.matchAll(/^broker_grants_total\{[^}]*outcome="created"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
      expect(created).toBe(5);
      // Shared state is the same in every worker: its gauge is not multiplied by the number of workers.
      expect(text).toMatch(/^broker_pool_capacity_sessions\{pool="vpn-a"[^}]*\} 6$/m);
    }
  }, 60_000);

  it('refuses more than one worker without Redis (the embedded store lives in one process)', () => {
    expect(() => testConfig({ env: { BROKER_WORKERS: '2' } })).toThrow(/BROKER_WORKERS/);
  });
});
