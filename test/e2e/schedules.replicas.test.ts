/**
 * Three broker processes on one Redis, each running the same node-cron
 * schedules: every scheduled step (a capacity plan in force at start-up, a
 * maintenance window starting and ending while they run) takes effect exactly
 * once — one audit record, one change — and a replica started again later does
 * not apply a step that was already done.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { parse, stringify } from 'yaml';
import type { AuditRecord } from '../../src/domain/audit';
import { RedisLeaseStore } from '../../src/repositories/redis/redis-lease.store';
import { mintToken } from '../../src/auth/token-minter';
import { startReplica, stopReplica, waitUntilServing, type Replica } from '../support/broker-process';
import { deleteKeys, testConfig, TEST_JWT_SECRET, TEST_REDIS_URL } from '../support/test-app';

const PORTS = [18350, 18351, 18352];

/** `HH:MM:SS` in UTC. */
const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
const ALL_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

describe('schedules on three replicas', () => {
  const prefix = `test:${randomUUID()}:`;
  const dir = mkdtempSync(join(tmpdir(), 'broker-schedules-'));
  const configFile = join(dir, 'broker.yaml');
  let replicas: Replica[] = [];
  let store: RedisLeaseStore;
  const launched = Date.now();
  const windowStart = launched + 40_000;
  const windowEnd = launched + 55_000;

  beforeAll(async () => {
    const cfg = parse(readFileSync(resolve(__dirname, '..', 'fixtures', 'concurrency.yaml'), 'utf8')) as Record<string, unknown>;
    cfg.schedules = {
      timezone: 'UTC',
      capacityPlans: [
        // In force since an hour ago: applied once at start-up (catch-up), by whichever replica claims it.
        { id: 'peak', pool: 'vpn-c', days: ALL_DAYS, from: clock(launched - 3600_000), to: clock(launched + 3 * 3600_000), set: { members: { m3: { maxSessions: 9 } } } },
      ],
      maintenanceWindows: [
        // Starts and ends while the replicas run: node-cron fires on all three, one applies each step.
        { id: 'patch-m2', pool: 'vpn-c', members: ['m2'], days: ALL_DAYS, from: clock(windowStart), to: clock(windowEnd), reason: 'patching' },
      ],
    };
    writeFileSync(configFile, stringify(cfg));
    store = new RedisLeaseStore(new Redis(TEST_REDIS_URL), { reapBatch: 100, bulkRenewalGraceMs: 0, idempotencyTtlMs: 600_000, keyPrefix: prefix });
    replicas = PORTS.map((port) => startReplica({ port, prefix, configFile }));
    await Promise.all(replicas.map(waitUntilServing));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map(stopReplica));
    await store?.close();
    await deleteKeys(prefix);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  async function operatorRecords(): Promise<AuditRecord[]> {
    return (await store.readAudit('vpn-c', { fromMs: 0, toMs: Date.now() + 3600_000, limit: 10_000 })).records.filter((r) => r.ev === 'operator');
  }
  const steps = async (window: string, act: string) => (await operatorRecords()).filter((r) => r.by === `schedule:${window}` && r.act === act);

  async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((ok) => setTimeout(ok, 250));
    }
    throw new Error(`timed out waiting for ${what}; replica logs:\n${replicas.map((r) => r.stderr()).join('\n')}`);
  }

  async function memberOnEveryReplica(id: string): Promise<{ state: string; maxSessions: number }[]> {
    const token = await mintToken({ sub: 'op', agency: 'alpha', roles: ['operator'] }, testConfig({ file: 'concurrency.yaml' }).broker.auth, TEST_JWT_SECRET);
    return Promise.all(
      replicas.map(async (r) => (await (await fetch(`http://127.0.0.1:${r.port}/v1/pools/vpn-c/members/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { state: string; maxSessions: number }),
    );
  }

  it('applies the plan in force at start-up once, and every replica admits by it', async () => {
    await until('the catch-up step', async () => (await steps('peak', 'schedule-start')).length > 0, 20_000);
    // Give the other replicas' catch-up time to (not) land too.
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(await steps('peak', 'schedule-start')).toHaveLength(1);
    expect((await store.getPoolLayers('vpn-c'))!.overrides.members?.['m3']).toEqual({ maxSessions: 9 });
    for (const m of await memberOnEveryReplica('m3')) expect(m.maxSessions).toBe(9);
  });

  it('starts and ends a maintenance window once across the three', async () => {
    await until('the window to start', async () => (await store.getPoolSpec('vpn-c'))!.members[1]!.state === 'drain', windowStart - Date.now() + 15_000);
    const spec = (await store.getPoolSpec('vpn-c'))!;
    expect(spec.members[1]).toMatchObject({ id: 'm2', state: 'drain', stateBy: 'schedule:patch-m2', stateReason: 'patching' });
    for (const m of await memberOnEveryReplica('m2')) expect(m.state).toBe('drain');

    await until('the window to end', async () => (await store.getPoolSpec('vpn-c'))!.members[1]!.state === 'active', windowEnd - Date.now() + 15_000);
    await new Promise((ok) => setTimeout(ok, 1500));
    expect(await steps('patch-m2', 'schedule-start')).toHaveLength(1);
    expect(await steps('patch-m2', 'schedule-end')).toHaveLength(1);
    expect((await store.getPoolLayers('vpn-c'))!.overrides).toEqual({ members: { m3: { maxSessions: 9 } } });
  }, 90_000);

  it('a replica started again later applies nothing twice', async () => {
    const before = (await operatorRecords()).filter((r) => r.by.startsWith('schedule:')).length;
    await Promise.all(replicas.map(stopReplica));
    replicas = [startReplica({ port: PORTS[0]!, prefix, configFile })];
    await waitUntilServing(replicas[0]!);
    await new Promise((ok) => setTimeout(ok, 2000));
    expect((await operatorRecords()).filter((r) => r.by.startsWith('schedule:')).length).toBe(before);
    expect((await store.getPoolSpec('vpn-c'))!.members.map((m) => [m.id, m.state, m.maxSessions])).toEqual([
      ['m1', 'active', 7],
      ['m2', 'active', 5],
      ['m3', 'active', 9],
    ]);
  }, 60_000);
});
