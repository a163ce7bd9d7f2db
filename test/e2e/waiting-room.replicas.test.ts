import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { mintToken, type TokenClaims } from '../../src/auth/token-minter';
import { poolKeys } from '../../src/repositories/redis/keys';
import { startReplica, stopReplica, waitUntilServing, type Replica } from '../support/broker-process';
import { deleteKeys, testConfig, TEST_JWT_SECRET, TEST_REDIS_URL } from '../support/test-app';

/**
 * The waiting room with three broker processes on one real Redis: a full pool,
 * many waiters who joined through different replicas, and slots freed at the
 * same time through different replicas (releases by owners, an agent's bulk
 * renewal, leases expiring under three sweepers and concurrent check-ins, a
 * declined offer), with claims racing releases and joins.
 *
 * Checked through the API and against what Redis holds — above all the audit
 * stream, which records every step in the order Redis ran it: replayed, it
 * shows that each freed slot went to exactly one waiter (the head of the line:
 * higher class first, then first come first served), before any other request
 * was decided, that no direct grant jumped the line, that each offer was
 * claimed at most once, and that sessions plus held offers never exceeded the
 * capacity at any step.
 */
const FIXTURE = resolve(__dirname, '..', 'fixtures', 'waiting-replicas.yaml');
const POOL = 'vpn-w';
const CAPACITY = 9;
const RANK: Record<string, number> = { standard: 0, crisis: 100 };
const PORTS = [18400, 18401, 18402];

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));
const auth = testConfig({ file: 'waiting-replicas.yaml' }).broker.auth;
const token = (claims: Partial<TokenClaims> & { sub: string }) => mintToken({ agency: 'alpha', ...claims }, auth, TEST_JWT_SECRET);

type Body = Record<string, unknown>;
interface Reply {
  status: number;
  body: Body;
}

async function call(port: number, method: string, path: string, tok: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${tok}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
}

interface Person {
  sub: string;
  tok: string;
}

// ---- the audit stream, replayed ---------------------------------------------------------------

interface Rec {
  id: string;
  ev: string;
  own: string;
  ag: string;
  m: string;
  g: string;
  pc: string;
  d: string;
}

async function auditStream(prefix: string): Promise<Rec[]> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    const entries = await redis.xrange(poolKeys(prefix, POOL).audit, '-', '+');
    return entries.map(([id, flat]) => {
      const r: Record<string, string> = { id };
      for (let i = 0; i + 1 < flat.length; i += 2) r[flat[i]!] = flat[i + 1]!;
      return r as unknown as Rec;
    });
  } finally {
    redis.disconnect();
  }
}

interface Replay {
  /** Tickets in the order they were offered. */
  offered: string[];
  claimed: string[];
  /** Slots freed while someone waited (each must have become exactly one offer). */
  freedForWaiters: number;
  maxOccupied: number;
  occupied: number;
  waiting: number;
}

/**
 * Replays the pool's audit stream (Redis ran these records' scripts in this
 * order, and a script's records are contiguous) and throws at the first step
 * that breaks a waiting-room rule.
 */
function replay(records: Rec[]): Replay {
  const line: { g: string; rank: number; n: number }[] = [];
  const offered = new Map<string, boolean>();
  const out: Replay = { offered: [], claimed: [], freedForWaiters: 0, maxOccupied: 0, occupied: 0, waiting: 0 };
  let pending = 0; // freed slots not yet offered while waiters remain
  let n = 0;
  const fail = (r: Rec, why: string) => {
    throw new Error(`audit record ${r.id} (${r.ev} ${r.g}): ${why}`);
  };
  const free = () => {
    out.occupied -= 1;
    if (line.length > pending) {
      pending += 1;
      out.freedForWaiters += 1;
    }
  };
  for (const r of records) {
    switch (r.ev) {
      case 'granted':
        if (line.length > 0) fail(r, `a direct grant while ${line.length} wait`);
        if (pending > 0) fail(r, 'a direct grant took a freed slot a waiter should have had');
        out.occupied += 1;
        break;
      case 'queued':
        if (pending > 0) fail(r, 'a request was decided before the freed slots were offered');
        line.push({ g: r.g, rank: RANK[r.pc]!, n: n++ });
        break;
      case 'offered': {
        const head = [...line].sort((a, b) => b.rank - a.rank || a.n - b.n)[0];
        if (!head) fail(r, 'an offer with nobody in line');
        if (head!.g !== r.g) fail(r, `offered out of line order: the head was ${head!.g}`);
        if (pending === 0) fail(r, 'an offer without a freed slot');
        if (offered.has(r.g)) fail(r, 'a second offer to the same ticket');
        pending -= 1;
        line.splice(line.indexOf(head!), 1);
        offered.set(r.g, false);
        out.offered.push(r.g);
        out.occupied += 1;
        break;
      }
      case 'claimed':
        if (offered.get(r.g) !== false) fail(r, 'claimed without an open offer (or twice)');
        if (pending > 0) fail(r, 'a claim was decided before the freed slots were offered');
        offered.set(r.g, true);
        out.claimed.push(r.g);
        break;
      case 'released':
      case 'expired':
        free();
        break;
      case 'offer-expired':
        offered.set(r.g, true);
        free();
        break;
      case 'left-queue':
        if (r.m !== '') {
          offered.set(r.g, true);
          free();
        } else {
          const i = line.findIndex((t) => t.g === r.g);
          if (i < 0) fail(r, 'left a line it was not in');
          line.splice(i, 1);
          if (pending > line.length) {
            out.freedForWaiters -= pending - line.length;
            pending = line.length;
          }
        }
        break;
      case 'renewed': // a bulk renewal's summary, between what it freed and the offers it made
        break;
      default:
        if (pending > 0) fail(r, `a ${r.ev} was decided before the freed slots were offered`);
    }
    if (out.occupied > CAPACITY) fail(r, `${out.occupied} sessions and held offers, capacity ${CAPACITY}`);
    out.maxOccupied = Math.max(out.maxOccupied, out.occupied);
  }
  if (pending > 0) throw new Error(`the stream ends with ${pending} freed slots never offered`);
  out.waiting = line.length;
  return out;
}

// ---- the test -----------------------------------------------------------------------------------

describe('the audit replay', () => {
  const rec = (ev: string, g: string, extra: Partial<Rec> = {}): Rec => ({ id: `${g}-${ev}`, ev, own: '', ag: 'alpha', m: '', g, pc: 'standard', d: '', ...extra });
  const full = Array.from({ length: CAPACITY }, (_, i) => rec('granted', `h${i}`, { m: 'w1' }));
  const line = [rec('queued', 't1'), rec('queued', 't2'), rec('queued', 't3', { pc: 'crisis' })];

  it('accepts a freed slot offered to the head of the line (the higher class first)', () => {
    expect(replay([...full, ...line, rec('released', 'h0', { m: 'w1' }), rec('offered', 't3', { m: 'w1' }), rec('claimed', 't3', { m: 'w1' })])).toMatchObject({
      offered: ['t3'],
      claimed: ['t3'],
      waiting: 2,
      occupied: CAPACITY,
    });
  });

  it.each([
    ['an offer out of line order', [rec('released', 'h0'), rec('offered', 't1')], /out of line order/],
    ['a freed slot never offered', [rec('released', 'h0'), rec('queued', 't4')], /decided before the freed slots were offered/],
    ['two offers for one freed slot', [rec('released', 'h0'), rec('offered', 't3'), rec('offered', 't1')], /without a freed slot/],
    ['a direct grant past the line', [rec('released', 'h0'), rec('offered', 't3'), rec('released', 'h1'), rec('granted', 'x')], /direct grant/],
    ['a claim of the same offer twice', [rec('released', 'h0'), rec('offered', 't3'), rec('claimed', 't3'), rec('claimed', 't3')], /claimed without an open offer/],
  ])('rejects %s', (_name, tail, why) => {
    expect(() => replay([...full, ...line, ...tail])).toThrow(why);
  });

  it('rejects more sessions and held offers than capacity', () => {
    expect(() => replay([...full, rec('granted', 'x')])).toThrow(/capacity 9/);
  });
});

describe('waiting room with several broker replicas on one Redis', () => {
  jest.setTimeout(240_000);
  let replicas: Replica[] = [];
  let prefix: string;

  beforeAll(async () => {
    prefix = `test:${randomUUID()}:`;
    replicas = PORTS.map((port) => startReplica({ port, prefix, configFile: FIXTURE }));
    await Promise.all(replicas.map(waitUntilServing));
  });
  afterAll(async () => {
    await Promise.all(replicas.map(stopReplica));
    await deleteKeys(prefix);
  });

  const port = (i: number) => PORTS[i % PORTS.length]!;
  const person = async (sub: string, claims: Partial<TokenClaims> = {}): Promise<Person> => ({ sub, tok: await token({ sub, agency: sub.length % 2 ? 'alpha' : 'beta', ...claims }) });
  const pool = async (i = 0) => (await call(port(i), 'GET', `/v1/pools/${POOL}`, (await person('observer')).tok)).body as { active: number; waiting: number; offered: number };

  it('offers each freed slot to exactly one waiter, in line order, and never goes over capacity', async () => {
    // Fill the pool: 9 holders through the three replicas.
    const holders = await Promise.all(Array.from({ length: CAPACITY }, (_, i) => person(`holder-${i}`)));
    const held = new Map<string, Body>(); // holder sub → grant
    await Promise.all(
      holders.map(async (h, i) => {
        const r = await call(port(i), 'POST', '/v1/grants', h.tok, { pool: POOL });
        expect([h.sub, r.status]).toEqual([h.sub, 201]);
        held.set(h.sub, r.body);
      }),
    );

    // Heartbeat whoever should stay (every second, round the replicas); a keeper must never lapse.
    const keep = new Map<string, { tok: string; id: string }>(holders.map((h) => [h.sub, { tok: h.tok, id: held.get(h.sub)!.id as string }]));
    const lapsed: string[] = [];
    let beating = true;
    const beats = (async () => {
      for (let round = 0; beating; round++) {
        await Promise.all(
          [...keep.entries()].map(async ([sub, k], i) => {
            const r = await call(port(round + i), 'POST', `/v1/grants/${k.id}/heartbeat`, k.tok);
            if (r.status !== 200 && keep.has(sub)) lapsed.push(`${sub}: ${r.status} ${String(r.body.code)}`);
          }),
        );
        await sleep(1000);
      }
    })();
    // Meanwhile a sampler reads the pool through every replica: never above capacity.
    const samples: number[] = [];
    let sampling = true;
    let leaverId = '';
    const sampler = (async () => {
      for (let i = 0; sampling; i++) {
        const s = await pool(i);
        samples.push(s.active);
        await sleep(50);
      }
    })();

    try {
      // 60 waiters join at once through the three replicas; every sixth is in the crisis class.
      const waiters = await Promise.all(Array.from({ length: 60 }, (_, i) => person(`waiter-${i}`, i % 6 === 0 ? { priority: 'crisis' } : {})));
      const ticketOf = new Map<string, string>(); // waiter sub → ticket id
      const whoHas = new Map<string, Person>(); // ticket id → waiter
      await Promise.all(
        waiters.map(async (w, i) => {
          const r = await call(port(i), 'POST', '/v1/grants', w.tok, { pool: POOL, wait: true });
          expect([w.sub, r.status, r.body.state]).toEqual([w.sub, 202, 'waiting']);
          ticketOf.set(w.sub, r.body.id as string);
          whoHas.set(r.body.id as string, w);
        }),
      );
      // Places in line, read through the replicas: crisis first, then in the order Redis queued them.
      const queued = (await auditStream(prefix)).filter((r) => r.ev === 'queued');
      const line = [...queued.filter((r) => r.pc === 'crisis'), ...queued.filter((r) => r.pc === 'standard')].map((r) => r.g);
      expect(line).toHaveLength(60);
      const positions = await Promise.all(line.map(async (id, i) => (await call(port(i), 'GET', `/v1/waiting/${id}`, whoHas.get(id)!.tok)).body.position));
      expect(positions).toEqual(line.map((_, i) => i + 1));

      // Round 1: five slots freed at once through different replicas — three releases by their owners,
      // and an agent's report that ends one session and no longer carries another (expired).
      const on = (member: string) => holders.filter((h) => held.get(h.sub)!.member === member);
      const w1 = on('w1');
      const agent = await token({ sub: 'agent-w1', roles: ['gateway-agent'], members: [`${POOL}/w1`] });
      const [agentEnded, agentDropped] = [w1[0]!, w1[1]!];
      const released = holders.filter((h) => !w1.includes(h)).slice(0, 3);
      for (const h of [agentEnded, agentDropped, ...released]) keep.delete(h.sub);
      const round1 = await Promise.all([
        ...released.map((h, i) => call(port(i), 'DELETE', `/v1/grants/${held.get(h.sub)!.id as string}`, h.tok)),
        call(port(2), 'POST', `/v1/pools/${POOL}/members/w1/renewals`, agent, {
          ended: [held.get(agentEnded.sub)!.id],
          active: w1.slice(2).map((h) => held.get(h.sub)!.id),
        }),
      ]);
      expect(round1.map((r) => r.status)).toEqual([204, 204, 204, 200]);
      expect(round1[3]!.body).toMatchObject({ released: 1, expired: 1, unknown: [] });
      // The offers were made inside the freeing steps: the first five in line hold a slot each, nobody else does.
      const afterRound1 = await Promise.all(line.map(async (id, i) => (await call(port(i), 'GET', `/v1/waiting/${id}`, whoHas.get(id)!.tok)).body));
      expect(afterRound1.map((t) => t.state)).toEqual(line.map((_, i) => (i < 5 ? 'offered' : 'waiting')));
      expect(afterRound1.slice(5).map((t) => t.position)).toEqual(line.slice(5).map((_, i) => i + 1));
      expect(await pool(1)).toMatchObject({ active: CAPACITY, offered: 5, waiting: 55 });

      // Claims, each sent to two replicas at once: one grant per offer, the same one on both.
      const claimTwice = async (id: string, i: number) => {
        const w = whoHas.get(id)!;
        const [a, b] = await Promise.all([call(port(i), 'POST', `/v1/waiting/${id}/claim`, w.tok), call(port(i + 1), 'POST', `/v1/waiting/${id}/claim`, w.tok)]);
        expect([id, a.status, b.status]).toEqual([id, 201, 201]);
        expect(b.body).toEqual(a.body);
        expect(a.body.id).toBe(id);
        keep.set(w.sub, { tok: w.tok, id });
        return a.body;
      };
      const claimed: Body[] = await Promise.all(line.slice(0, 5).map(claimTwice));

      // Round 2: two holders stop renewing; three sweepers and concurrent check-ins race to reclaim them.
      const lapsing = holders.filter((h) => keep.has(h.sub)).slice(0, 2);
      for (const h of lapsing) keep.delete(h.sub);
      const checkIns = (async () => {
        const deadline = Date.now() + 60_000;
        for (let round = 0; (await pool(round)).offered < 2; round++) {
          if (Date.now() > deadline) throw new Error('the lapsed leases were never reclaimed');
          await Promise.all(line.slice(5, 15).map((id, i) => call(port(round + i), 'POST', `/v1/waiting/${id}/check-in`, whoHas.get(id)!.tok)));
          await sleep(200);
        }
      })();
      await checkIns;
      expect(await pool(2)).toMatchObject({ active: CAPACITY, offered: 2, waiting: 53 });
      const round2 = await Promise.all(line.slice(5, 8).map(async (id, i) => (await call(port(i), 'GET', `/v1/waiting/${id}`, whoHas.get(id)!.tok)).body));
      expect(round2.map((t) => [t.state, t.position])).toEqual([
        ['offered', 0],
        ['offered', 0],
        ['waiting', 1],
      ]);

      // Round 3, all at once through the replicas: one offer claimed (twice), one declined, three sessions released,
      // the head of the line leaves, and five newcomers join — claims, releases and joins racing.
      const [toClaim, toDecline] = [line[5]!, line[6]!];
      const leaver = line[7]!;
      leaverId = leaver;
      const releasing = [...[...keep.entries()].filter(([sub]) => sub.startsWith('holder-')).slice(0, 2), [whoHas.get(line[0]!)!.sub, keep.get(whoHas.get(line[0]!)!.sub)!] as const];
      for (const [sub] of releasing) keep.delete(sub);
      const newcomers = await Promise.all(Array.from({ length: 5 }, (_, i) => person(`late-${i}`)));
      const round3 = await Promise.all([
        claimTwice(toClaim, 0).then(() => 'claimed'),
        call(port(1), 'DELETE', `/v1/waiting/${toDecline}`, whoHas.get(toDecline)!.tok).then((r) => r.status),
        call(port(2), 'DELETE', `/v1/waiting/${leaver}`, whoHas.get(leaver)!.tok).then((r) => r.status),
        ...releasing.map(([, k], i) => call(port(i), 'DELETE', `/v1/grants/${k.id}`, k.tok).then((r) => r.status)),
        ...newcomers.map((w, i) =>
          call(port(i), 'POST', '/v1/grants', w.tok, { pool: POOL, wait: true }).then((r) => {
            whoHas.set(r.body.id as string, w);
            return r.status;
          }),
        ),
      ]);
      expect(round3).toEqual(['claimed', 204, 204, 204, 204, 204, 202, 202, 202, 202, 202]);
      // Four slots freed (a decline and three releases) while 51 waited: four new offers, to the next four in line.
      const next4 = line.slice(8, 12);
      const st = await Promise.all(next4.map(async (id, i) => (await call(port(i), 'GET', `/v1/waiting/${id}`, whoHas.get(id)!.tok)).body.state));
      expect(st).toEqual(['offered', 'offered', 'offered', 'offered']);
      expect(await pool(0)).toMatchObject({ active: CAPACITY, offered: 4, waiting: 60 - 5 - 2 - 1 - 4 + 5 });
      claimed.push(...(await Promise.all(next4.map(claimTwice))));
      expect(await pool(1)).toMatchObject({ active: CAPACITY, offered: 0 });

      // What the API handed out: distinct grants, distinct fencing tokens.
      const fences = [...held.values(), ...claimed].map((g) => g.fencingToken);
      expect(new Set(fences).size).toBe(fences.length);
    } finally {
      beating = false;
      sampling = false;
      await Promise.all([beats, sampler]);
    }
    expect(lapsed).toEqual([]);
    expect(samples.length).toBeGreaterThan(0);
    expect(Math.max(...samples)).toBeLessThanOrEqual(CAPACITY);

    // The audit stream, replayed: every rule held at every step.
    // 5 + 2 + 4 offers, and one more if the leaver was offered a slot before leaving (declining it passed it on).
    const records = await auditStream(prefix);
    const leaverDeclined = records.some((x) => x.ev === 'left-queue' && x.g === leaverId && x.m !== '');
    const r = replay(records);
    expect(r.offered).toHaveLength(11 + (leaverDeclined ? 1 : 0));
    expect(r.freedForWaiters).toBe(r.offered.length);
    expect(r.claimed).toHaveLength(10);
    expect(r.maxOccupied).toBe(CAPACITY);
    expect([r.occupied, r.waiting]).toEqual([CAPACITY, 53]);
    // And what Redis holds agrees: nine leases, no offer left, 53 waiting.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys = poolKeys(prefix, POOL);
      expect(await redis.hlen(keys.grants)).toBe(CAPACITY);
      expect(await redis.zcard(keys.offers)).toBe(0);
      expect(await redis.hget(keys.state, 'active')).toBe(String(CAPACITY));
      expect(await redis.hget(keys.wait, 'n')).toBe('53');
    } finally {
      redis.disconnect();
    }
  });
});
