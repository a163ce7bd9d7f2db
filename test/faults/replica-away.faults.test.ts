import { randomUUID } from 'node:crypto';
import { mintToken } from '../../src/auth/token-minter';
import { brokerConfigSchema } from '../../src/config/broker-config.schema';
import { loadYamlFile } from '../../src/config/config.loader';
import { TEST_JWT_SECRET } from '../support/test-app';
import { Broker, FAULTS_CONFIG } from './lib/brokers';
import { command, RedisNode, sleep } from './lib/processes';
import { DOWN_AFTER_MS } from './lib/run';
import { MASTER_NAME, REPLICA_USER, SENTINEL_USER, SentinelTopology } from './lib/topology';

/**
 * A replica that must confirm every write is away for good (REDIS_ACK_REPLICAS=all, the default on
 * Sentinel): what the brokers answer, what an operator sees, and the recovery docs/guarantees.md
 * ("Availability cost of the safe mode") and the BrokerWritesUnconfirmed alert prescribe — on real
 * redis-server and redis-sentinel processes and one broker process.
 *
 * Ports 20600–20603 (Redis), 20620–20622 (Sentinels), 20640–20641 (brokers): clear of the other
 * fault suites and of a campaign (docs/faults-campaign.md).
 */
const PORTS = { redis: 20600, sentinel: 20620 };

let employees = 0;
/**
 * A token of an employee not seen before: a grant the master applied but did not confirm still holds
 * its seat until the lease ends, so each attempt comes from someone else.
 */
async function newEmployee(): Promise<string> {
  const n = employees++;
  return mintToken({ sub: `emp-${n}`, agency: n % 2 === 0 ? 'alpha' : 'beta' }, loadYamlFile(FAULTS_CONFIG, brokerConfigSchema).auth, TEST_JWT_SECRET);
}

/** One grant request; `key` makes retries of it the same request. */
async function grant(broker: Broker, token: string, key: string): Promise<{ status: number; body: { code?: string; id?: string } }> {
  const r = await fetch(`http://127.0.0.1:${broker.port}/v1/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ pool: 'vpn-f', clientId: 'laptop' }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, body: (await r.json()) as { code?: string; id?: string } };
}

/** The broker's own figures about its writes' replicas, from /metrics. */
async function figures(broker: Broker): Promise<{ known?: number; down?: number; unconfirmed: number; clockOffset?: number }> {
  const text = await (await fetch(`http://127.0.0.1:${broker.port}/metrics`)).text();
  const value = (re: RegExp) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  return {
    known: value(/^broker_store_replicas\{state="known"\} (\d+)$/m),
    down: value(/^broker_store_replicas\{state="down"\} (\d+)$/m),
    unconfirmed: value(/^broker_store_writes_unconfirmed_total (\d+)$/m) ?? NaN,
    clockOffset: value(/^broker_store_clock_offset_seconds\{store="redis"\} (-?[\d.e-]+)$/m),
  };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await probe();
    if (ok(last)) return last;
    await sleep(250);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

async function resetSentinels(t: SentinelTopology): Promise<void> {
  for (const s of t.sentinels) await command(s.port, 'SENTINEL', 'RESET', MASTER_NAME);
}

describe('a replica away for good, REDIS_ACK_REPLICAS=all on Sentinel', () => {
  jest.setTimeout(150_000);
  let topology: SentinelTopology | null = null;
  let broker: Broker | null = null;
  let spare: RedisNode | null = null;

  afterEach(async () => {
    await broker?.kill();
    await spare?.kill();
    await topology?.stop();
    broker = spare = topology = null;
  });

  async function start(replicas: 1 | 2, brokerPort: number): Promise<{ t: SentinelTopology; b: Broker }> {
    const t = (topology = new SentinelTopology(PORTS, { replicas, persistence: 'none', downAfterMs: DOWN_AFTER_MS, failoverTimeoutMs: 5_000 }));
    await t.start();
    const b = (broker = new Broker(0, brokerPort, t.brokerEnv()));
    b.start();
    await b.waitUntilReady();
    return { t, b };
  }

  it('two replicas, one gone: writes answer 503 and the metrics say why; SENTINEL RESET brings confirmed writes back', async () => {
    const { t, b } = await start(2, 20640);
    const token = await newEmployee();
    const settled = await until('both replicas counted', 15_000, () => figures(b), (f) => f.known === 2 && f.down === 0);
    // The master's clock is this host's: the offset the broker reads through TIME is a round trip's worth.
    expect(Math.abs(settled.clockOffset!)).toBeLessThan(0.5);
    expect((await grant(b, token, randomUUID())).status).toBe(201);

    const master = await t.master();
    const lost = t.nodes.find((n) => n !== master)!;
    await lost.kill();
    // Sentinel holds it down after down-after-milliseconds; the broker asks every 5 s.
    await until('the lost replica reported down', 20_000, () => figures(b), (f) => f.down === 1);

    const key = randomUUID();
    const refused = await grant(b, token, key);
    expect(refused).toMatchObject({ status: 503, body: { code: 'store-unavailable' } });
    expect((await figures(b)).unconfirmed).toBeGreaterThanOrEqual(1);

    await resetSentinels(t);
    // Sentinel finds the live replica again in the master's INFO; the lost one is forgotten.
    await until('the replica set without the lost one', 30_000, () => figures(b), (f) => f.known === 1 && f.down === 0);
    // The retry of the refused request is confirmed now: the grant the master applied, or a new one.
    const retried = await grant(b, token, key);
    expect(retried.status).toBeGreaterThanOrEqual(200);
    expect(retried.status).toBeLessThan(300);
    expect((await grant(b, await newEmployee(), randomUUID())).status).toBe(201);
  });

  it('one replica, the master gone for good: SENTINEL RESET alone does not do (no replica would have the write), a new replica does', async () => {
    const { t, b } = await start(1, 20641);
    expect((await grant(b, await newEmployee(), randomUUID())).status).toBe(201);

    const old = await t.master();
    await old.kill();
    const promoted = await t.waitForNewMaster(old.port, 20_000);
    // The old master is now a replica Sentinel knows, and down: nothing can be confirmed.
    await until('the old master listed as a replica, down', 20_000, () => figures(b), (f) => f.known === 1 && f.down === 1);
    expect((await grant(b, await newEmployee(), randomUUID())).body.code).toBe('store-unavailable');

    await resetSentinels(t);
    await until('Sentinel forgot the old master', 30_000, () => figures(b), (f) => f.known === 0);
    // With no replica at all a write is still not confirmed: a failover now would lose it.
    expect((await grant(b, await newEmployee(), randomUUID())).body.code).toBe('store-unavailable');

    spare = new RedisNode({ port: PORTS.redis + 3, persistence: 'none', users: [SENTINEL_USER, REPLICA_USER], masterUser: REPLICA_USER, replicaOf: promoted }, t.root);
    await spare.start();
    await until('the new replica counted', 30_000, () => figures(b), (f) => f.known === 1 && f.down === 0);
    const after = await until('a write confirmed again', 20_000, async () => grant(b, await newEmployee(), randomUUID()), (r) => r.status === 201);
    expect(after.body.id).toMatch(/^vpn-f\./);
  });
});
