import { mintToken } from '../../../src/auth/token-minter';
import { loadYamlFile } from '../../../src/config/config.loader';
import { brokerConfigSchema } from '../../../src/config/broker-config.schema';
import { TEST_JWT_SECRET } from '../../support/test-app';
import { FAULTS_CONFIG } from './brokers';
import { confirmedGrant, problemCode, toldExpiry, type History, type Limits, type Op, type OpKind } from './history';
import type { Rng } from './random';
import { sleep } from './processes';

/** The fault config as the checker needs it: every limit of every pool. */
export function faultLimits(): Limits {
  const cfg = loadYamlFile(FAULTS_CONFIG, brokerConfigSchema);
  const limits: Limits = {};
  for (const p of cfg.pools) {
    limits[p.id] = {
      members: Object.fromEntries(p.members.map((m) => [m.id, m.maxSessions])),
      ...(p.licenceLimit !== undefined ? { licenceLimit: p.licenceLimit } : {}),
      perEmployeeLimit: p.perEmployeeLimit ?? cfg.defaults.perEmployeeLimit,
      agencyMaximum: Object.fromEntries(cfg.agencies.filter((a) => a.pools[p.id]).map((a) => [a.id, a.pools[p.id]!.maximum])),
    };
  }
  return limits;
}

/**
 * How long a client waits for an answer before it counts the request as unanswered: longer than
 * the broker's own Redis command timeout (5 s), so that its 503 is what the client sees.
 */
export const REQUEST_TIMEOUT_MS = 6_000;

export interface WorkloadOptions {
  ports: number[];
  employees: number;
  /** Employees (from the first) who hold two sessions in vpn-f at once, from clients "a" and "b". */
  doubleSessions: number;
  rng: Rng;
  history: History;
}

interface Client {
  employee: string;
  agency: string;
  token: string;
  clientId: string;
  /** null: the session chooses a pool each time. */
  pool: string | null;
  rng: Rng;
}

/**
 * Concurrent employees against the replicas (each request to a replica chosen at random):
 * grant with an Idempotency-Key, heartbeat, GET, reconnect from the same client, a retry of
 * the same key (often on another replica), release. Every request goes into the history.
 */
export class Workload {
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly o: WorkloadOptions) {}

  async start(): Promise<void> {
    const auth = loadYamlFile(FAULTS_CONFIG, brokerConfigSchema).auth;
    for (let i = 0; i < this.o.employees; i++) {
      const employee = `emp-${i}`;
      const agency = i % 2 === 0 ? 'alpha' : 'beta';
      const token = await mintToken({ sub: employee, agency }, auth, TEST_JWT_SECRET);
      const clients: Client[] =
        i < this.o.doubleSessions
          ? ['a', 'b'].map((clientId, k) => ({ employee, agency, token, clientId, pool: 'vpn-f', rng: this.o.rng.fork(i * 2 + k) }))
          : [{ employee, agency, token, clientId: 'a', pool: null, rng: this.o.rng.fork(i * 2) }];
      for (const c of clients) this.loops.push(this.loop(c));
    }
  }

  /** Asks every client to finish its session (release) and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async loop(c: Client): Promise<void> {
    let seq = 0;
    await sleep(c.rng.int(0, 1000));
    while (!this.stopping) {
      const pool = c.pool ?? (c.rng.chance(0.65) ? 'vpn-f' : 'vdi-l');
      const key = `${c.employee}-${c.clientId}-${seq++}-${c.rng.int(0, 1e9)}`;
      const granted = await this.obtain(c, pool, key);
      if (granted === 'refused' || granted === 'unknown') {
        await sleep(c.rng.int(200, 800));
        continue;
      }
      await this.hold(c, pool, key, granted);
      await this.release(c, pool, granted.id);
      await sleep(c.rng.int(100, 400));
    }
  }

  /** Grant with a key; retried with the same key (on a random replica) while unanswered or store-unavailable. */
  private async obtain(c: Client, pool: string, key: string): Promise<{ id: string; expiry: number } | 'refused' | 'unknown'> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const op = await this.request(c, 'grant', pool, { idempotencyKey: key });
      const g = confirmedGrant(op);
      if (g) return { id: g.id, expiry: toldExpiry(op, g) };
      if (op.status !== 0 && op.status < 500) return 'refused';
      if (op.status === 503 && problemCode(op) !== 'store-unavailable') return 'refused';
      await sleep(c.rng.int(200, 700));
    }
    return 'unknown';
  }

  /** Holds the session 2–8 s: heartbeats, reads, a reconnect, a retry of the key. Ends early if the grant reads as gone. */
  private async hold(c: Client, pool: string, key: string, g: { id: string; expiry: number }): Promise<void> {
    const until = this.o.history.now() + c.rng.int(2_000, 8_000);
    while (!this.stopping && this.o.history.now() < until) {
      await sleep(c.rng.int(800, 1_800));
      if (this.o.history.now() > g.expiry) return; // expired as far as this client knows
      const roll = c.rng.int(0, 99);
      const op =
        roll < 55
          ? await this.request(c, 'heartbeat', pool, { grantId: g.id })
          : roll < 75
            ? await this.request(c, 'get', pool, { grantId: g.id })
            : roll < 88
              ? await this.request(c, 'grant', pool, { idempotencyKey: `${key}-re${c.rng.int(0, 1e9)}` }) // reconnect: same client, new key
              : await this.request(c, 'grant', pool, { idempotencyKey: key }); // the same key again
      const told = confirmedGrant(op);
      if (told && told.id === g.id) g.expiry = Math.max(g.expiry, toldExpiry(op, told));
      const code = problemCode(op);
      if (code === 'grant-not-found' || code === 'lease-expired' || code === 'grant-ended') return;
      if (told && told.id !== g.id) {
        // A reconnect that made a new grant: the old one is gone as far as the broker knows; hold the new one.
        g.id = told.id;
        g.expiry = toldExpiry(op, told);
      }
    }
  }

  private async release(c: Client, pool: string, grantId: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const op = await this.request(c, 'release', pool, { grantId });
      if (op.status !== 0 && op.status < 500) return;
      await sleep(c.rng.int(200, 700));
    }
  }

  private async request(c: Client, kind: OpKind, pool: string, a: { grantId?: string; idempotencyKey?: string }): Promise<Op> {
    const replica = c.rng.int(0, this.o.ports.length - 1);
    const base = `http://127.0.0.1:${this.o.ports[replica]}/v1/grants`;
    const [method, url, body] =
      kind === 'grant'
        ? ['POST', base, JSON.stringify({ pool, clientId: c.clientId })]
        : kind === 'heartbeat'
          ? ['POST', `${base}/${a.grantId}/heartbeat`, undefined]
          : kind === 'release'
            ? ['DELETE', `${base}/${a.grantId}`, undefined]
            : ['GET', `${base}/${a.grantId}`, undefined];
    const headers: Record<string, string> = { authorization: `Bearer ${c.token}` };
    if (body) headers['content-type'] = 'application/json';
    if (a.idempotencyKey) headers['idempotency-key'] = a.idempotencyKey;
    const start = this.o.history.now();
    let status = 0;
    let parsed: Op['body'] = null;
    try {
      const res = await fetch(url, { method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      status = res.status;
      const text = await res.text();
      parsed = text ? (JSON.parse(text) as Op['body']) : null;
    } catch {
      status = status || 0;
      parsed = null;
    }
    const end = this.o.history.now();
    return this.o.history.record({
      kind,
      employee: c.employee,
      agency: c.agency,
      pool,
      clientId: c.clientId,
      ...(a.grantId ? { grantId: a.grantId } : {}),
      ...(a.idempotencyKey ? { idempotencyKey: a.idempotencyKey } : {}),
      replica,
      start,
      end,
      status,
      body: parsed,
      endWall: Date.now(),
    });
  }
}
