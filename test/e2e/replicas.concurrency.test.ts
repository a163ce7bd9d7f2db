import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { mintToken } from '../../src/auth/token-minter';
import { startReplica, stopReplica, waitUntilServing, type Replica } from '../support/broker-process';
import { deleteKeys, testConfig, TEST_JWT_SECRET, TEST_REDIS_URL } from '../support/test-app';

/**
 * Several broker processes on one real Redis. Far more simultaneous requests
 * than capacity; exactly the capacity is granted — per pool, per member and
 * per agency — whatever the interleaving, with retries across replicas and a
 * replica killed in the middle.
 */
const FIXTURE = resolve(__dirname, '..', 'fixtures', 'concurrency.yaml');
const MEMBERS = { m1: 7, m2: 5, m3: 4 };
const CAPACITY = 16;
const AGENCIES = { alpha: { guaranteed: 4, maximum: 9 }, beta: { guaranteed: 3, maximum: 6 }, gamma: { guaranteed: 2, maximum: 20 } };

const auth = testConfig({ file: 'concurrency.yaml' }).broker.auth;
const tokenFor = (sub: string, agency: string) => mintToken({ sub, agency }, auth, TEST_JWT_SECRET);

async function grant(port: number, token: string, key?: string): Promise<{ status: number; body: Record<string, unknown> } | { status: 0; body: null }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/grants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
      body: JSON.stringify({ pool: 'vpn-c' }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  } catch {
    return { status: 0, body: null }; // connection cut by a killed replica
  }
}

async function poolState(port: number): Promise<{ active: number; members: { id: string; active: number }[]; agencies: { id: string; active: number }[] }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/pools/vpn-c`, { headers: { authorization: `Bearer ${await tokenFor('observer', 'alpha')}` } });
  return (await res.json()) as never;
}

/** What Redis itself holds: lease records per member and agency, independent of the counters. */
async function storedLeases(prefix: string): Promise<{ total: number; perMember: Record<string, number> }> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const perMember: Record<string, number> = {};
    for (const m of Object.keys(MEMBERS)) perMember[m] = await redis.zcard(`${prefix}{vpn-c}:exp:${m}`);
    return { total: await redis.hlen(`${prefix}{vpn-c}:grants`), perMember };
  } finally {
    redis.disconnect();
  }
}

function expectExactlyCapacity(state: Awaited<ReturnType<typeof poolState>>, granted: Record<string, unknown>[]): void {
  expect(state.active).toBe(CAPACITY);
  expect(granted).toHaveLength(CAPACITY);
  for (const [id, max] of Object.entries(MEMBERS)) {
    expect([id, state.members.find((m) => m.id === id)!.active]).toEqual([id, max]);
    expect([id, granted.filter((g) => g.member === id).length]).toEqual([id, max]);
  }
  for (const [id, share] of Object.entries(AGENCIES)) {
    const active = state.agencies.find((a) => a.id === id)!.active;
    expect(active).toBeLessThanOrEqual(share.maximum);
    expect(active).toBeGreaterThanOrEqual(share.guaranteed);
    expect(granted.filter((g) => g.agency === id)).toHaveLength(active);
  }
  const fences = granted.map((g) => g.fencingToken as number);
  expect(new Set(fences).size).toBe(fences.length);
}

describe('several broker replicas on one Redis', () => {
  jest.setTimeout(120_000);
  const ports = [18211, 18212, 18213];
  let replicas: Replica[] = [];
  let prefix: string;

  beforeEach(async () => {
    prefix = `test:${randomUUID()}:`;
    replicas = ports.map((port) => startReplica({ port, prefix, configFile: FIXTURE }));
    await Promise.all(replicas.map(waitUntilServing));
  });
  afterEach(async () => {
    await Promise.all(replicas.map(stopReplica));
    await deleteKeys(prefix);
  });

  it('grants exactly the capacity to far more simultaneous requests than capacity', async () => {
    // 240 employees (80 per agency), all at once, spread over three replicas.
    const requests = await Promise.all(
      Array.from({ length: 240 }, async (_, i) => {
        const agency = Object.keys(AGENCIES)[i % 3]!;
        return grant(ports[i % 3]!, await tokenFor(`emp-${i}`, agency));
      }),
    );
    const granted = requests.filter((r) => r.status === 201).map((r) => r.body!);
    const refused = requests.filter((r) => r.status !== 201);
    // Every refusal is a capacity refusal (the unexpected ones are listed with their status and code).
    expect(refused.filter((r) => !['pool-full', 'capacity-reserved', 'agency-at-maximum'].includes(r.body?.code as string)).map((r) => [r.status, r.body?.code])).toEqual([]);
    expectExactlyCapacity(await poolState(ports[0]!), granted);
    for (const p of ports.slice(1)) expect((await poolState(p)).active).toBe(CAPACITY); // every replica sees the same
    const stored = await storedLeases(prefix);
    expect(stored).toEqual({ total: CAPACITY, perMember: MEMBERS });
  });

  it('gives one grant per employee when every request is retried on another replica with the same Idempotency-Key', async () => {
    const employees = Array.from({ length: 90 }, (_, i) => ({ sub: `retry-${i}`, agency: Object.keys(AGENCIES)[i % 3]! }));
    const results = await Promise.all(
      employees.flatMap((e, i) => [0, 1, 2].map(async (k) => ({ e, r: await grant(ports[(i + k) % 3]!, await tokenFor(e.sub, e.agency), `idem-${e.sub}-key`) }))),
    );
    const grantsByEmployee = new Map<string, Set<string>>();
    for (const { e, r } of results) {
      if (r.status === 200 || r.status === 201) {
        if (!grantsByEmployee.has(e.sub)) grantsByEmployee.set(e.sub, new Set());
        grantsByEmployee.get(e.sub)!.add(r.body!.id as string);
      }
    }
    for (const ids of grantsByEmployee.values()) expect(ids.size).toBe(1);
    const distinct = [...grantsByEmployee.values()].map((s) => [...s][0]!);
    expect(distinct).toHaveLength(CAPACITY);
    const state = await poolState(ports[0]!);
    expect(state.active).toBe(CAPACITY);
    expect((await storedLeases(prefix)).total).toBe(CAPACITY);
  });

  it('keeps the invariants when a replica is killed in the middle of the storm', async () => {
    const storm = Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const agency = Object.keys(AGENCIES)[i % 3]!;
        if (i === 150) replicas[1]!.proc.kill('SIGKILL');
        return { port: ports[i % 3]!, r: await grant(ports[i % 3]!, await tokenFor(`crash-${i}`, agency)) };
      }),
    );
    const results = await storm;
    const granted = results.filter((x) => x.r.status === 201).map((x) => x.r.body!);
    const state = await poolState(ports[0]!);
    // Grants whose answer was lost with the killed replica still hold a slot (they expire if never used);
    // what the store counts is exactly what it holds, and never more than capacity.
    const stored = await storedLeases(prefix);
    expect(state.active).toBe(stored.total);
    expect(state.active).toBeLessThanOrEqual(CAPACITY);
    expect(granted.length).toBeLessThanOrEqual(state.active);
    for (const [id, max] of Object.entries(MEMBERS)) {
      expect(state.members.find((m) => m.id === id)!.active).toBe(stored.perMember[id]);
      expect(stored.perMember[id]).toBeLessThanOrEqual(max);
    }
    for (const [id, share] of Object.entries(AGENCIES)) expect(state.agencies.find((a) => a.id === id)!.active).toBeLessThanOrEqual(share.maximum);
    // The surviving replicas fill whatever is left: afterwards, exactly the capacity.
    const top = await Promise.all(Array.from({ length: 60 }, async (_, i) => grant(ports[i % 2 === 0 ? 0 : 2]!, await tokenFor(`after-${i}`, Object.keys(AGENCIES)[i % 3]!))));
    expect(top.filter((r) => ![201, 429, 503].includes(r.status)).map((r) => [r.status, r.body?.code])).toEqual([]);
    expect((await poolState(ports[2]!)).active).toBe(CAPACITY);
    expect((await storedLeases(prefix)).total).toBe(CAPACITY);
  });
});
