/** What every phase of the benchmark shares: the broker under test, the employees' tokens, what each holds. */
import type { TokensFile } from '../../load-tests/lib/prepare-tokens';
import type { OpRecorder, Tracked } from '../lib/load';
import type { PacedLoad, PacedRequest } from '../lib/paced';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { cpuSeconds } from '../lib/processes';
import type { RuntimeFigures, Settings } from '../lib/types';

export const POOL = 'vpn-statenet';

export interface PhaseContext {
  store: 'redis' | 'memory';
  s: Settings;
  /** http://127.0.0.1:<port> of the broker. */
  base: string;
  tokens: TokensFile;
  held: Held;
  recorder: OpRecorder;
  /** The broker's process id (CPU and memory from /proc). */
  pid: number;
  /** The bench's redis-server when the broker runs on it (its CPU from /proc), else null. */
  redisPid: number | null;
}

export const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);
export const auth = (token: string) => ({ authorization: `Bearer ${token}` });
export const json = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
export const grantBody = JSON.stringify({ pool: POOL, clientId: 'bench' });

/**
 * A grant whose answer sends its release at once: one grant + release pair of the paced generators
 * (bench:ab, bench:layers). `free()` runs when the employee may ask again.
 */
export function pairRequest(load: PacedLoad, token: string, free: () => void, op = 'grant'): PacedRequest {
  return grantRequest(op, token, (status, body) => {
    if (status !== 201) {
      free();
      return false;
    }
    const id = (JSON.parse(body) as { id: string }).id;
    load.send({ op: 'release', method: 'DELETE', path: `/v1/grants/${id}`, headers: auth(token), done: (s) => (free(), s === 204) }, performance.now());
    return true;
  });
}

/** A grant request of the paced generators (the bench pool, the employee's token); `done` sees the answer. */
export function grantRequest(op: string, token: string, done: NonNullable<PacedRequest['done']>): PacedRequest {
  return { op, method: 'POST', path: '/v1/grants', headers: json(token), body: grantBody, done };
}

/**
 * Grant + release pairs for autocannon (Tracked): each connection takes an employee from `free`,
 * asks for a grant, releases it, and gives the employee back (bench:ab at full load, the workers
 * phase). A 200 is a grant too: the employee still held one from a run autocannon stopped mid-pair.
 */
export function autocannonPairs(tp: Tracked, tokens: TokensFile, free: number[]): ReturnType<Tracked['request']>[] {
  return [
    tp.request(
      'grant',
      {
        method: 'POST',
        path: '/v1/grants',
        setupRequest: (req, c) => {
          c.e = free.shift()!;
          c.id = undefined;
          return { ...req, headers: json(tokens.employees[c.e as number]!.token), body: grantBody };
        },
      },
      (status, body, c) => {
        const ok = status === 201 || status === 200;
        if (ok) c.id = (JSON.parse(body) as { id: string }).id;
        else free.push(c.e as number);
        return ok;
      },
    ),
    tp.request(
      'release',
      { method: 'DELETE', setupRequest: (req, c) => (c.id ? { ...req, path: `/v1/grants/${c.id as string}`, headers: auth(tokens.employees[c.e as number]!.token) } : null) },
      (status, _body, c) => {
        c.id = undefined;
        free.push(c.e as number);
        return status === 204;
      },
    ),
  ];
}

/** Share of one core between two CPU readings `seconds` apart. */
export function share(before: number | null, after: number | null, seconds: number): number | null {
  return before === null || after === null ? null : (after - before) / seconds;
}

/** CPU seconds of a process (the broker, Redis) from now until `stop()`, and per request. */
export function cpuMeter(pid: number): { stop: (seconds: number, requests: number) => { share: number | null; perRequestUs: number | null } } {
  const cpu0 = cpuSeconds(pid);
  return {
    stop: (seconds, requests) => {
      const cpu1 = cpuSeconds(pid);
      const used = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
      return { share: used === null ? null : used / seconds, perRequestUs: used === null || requests === 0 ? null : (used / requests) * 1e6 };
    },
  };
}

export async function poolActive(base: string, operator: string): Promise<number> {
  const res = await fetch(`${base}/v1/pools/${POOL}`, { headers: auth(operator) });
  if (!res.ok) throw new Error(`GET /v1/pools/${POOL} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { active: number }).active;
}

/** Which grant each synthetic employee holds now, and on which member. */
export class Held {
  readonly ids: (string | undefined)[];
  readonly members: (string | undefined)[];
  constructor(n: number) {
    this.ids = new Array(n);
    this.members = new Array(n);
  }
  set(e: number, body: string): boolean {
    try {
      const g = JSON.parse(body) as { id: string; member: string };
      this.ids[e] = g.id;
      this.members[e] = g.member;
      return true;
    } catch {
      return false;
    }
  }
  clear(e: number): void {
    this.ids[e] = undefined;
    this.members[e] = undefined;
  }
  byMember(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    this.ids.forEach((id, e) => {
      if (!id) return;
      const m = this.members[e]!;
      let list = out.get(m);
      if (!list) out.set(m, (list = []));
      list.push(id);
    });
    return out;
  }
  count(): number {
    return this.ids.reduce((n, id) => n + (id ? 1 : 0), 0);
  }
}

/**
 * Asks the broker what employee `e` holds and records it; if nothing, grants again. For the few
 * employees whose request was in flight when autocannon stopped, so their answer was never seen.
 */
export async function reconcile(ctx: PhaseContext, e: number): Promise<void> {
  const token = ctx.tokens.employees[e]!.token;
  const mine = (await (await fetch(`${ctx.base}/v1/grants`, { headers: auth(token) })).json()) as { id: string; pool: string; member: string }[];
  const live = mine.find((g) => g.pool === POOL);
  if (live) {
    ctx.held.set(e, JSON.stringify(live));
    return;
  }
  const res = await fetch(`${ctx.base}/v1/grants`, { method: 'POST', headers: json(token), body: grantBody });
  if (res.ok) ctx.held.set(e, await res.text());
  else ctx.held.clear(e);
}

/**
 * How many employees a throughput phase rotates through. Each principal has its own `grants` rate
 * budget (50 requests per 10 s by default, docs/security.md), and a grant + release pair spends two:
 * 32 connections cycling 32 employees would measure 429s, not admissions. 6,000 in turn stay within
 * their budgets up to 15,000 pairs/s (2,000 did up to 5,000, which the embedded store reached).
 */
export const ROTATION = 6_000;

/** Runs `fn` over `items`, `parallel` at a time. */
export async function inBatches<T>(items: readonly T[], parallel: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += parallel) await Promise.all(items.slice(i, i + parallel).map(fn));
}

/** The gateway agents: one bulk renewal per member reporting every session it carries, as production gateways do. */
export async function renewalRound(ctx: PhaseContext): Promise<{ startedAt: number; endedAt: number }> {
  const startedAt = Date.now();
  for (const [member, ids] of ctx.held.byMember()) {
    const t0 = performance.now();
    const res = await fetch(`${ctx.base}/v1/pools/${POOL}/members/${member}/renewals`, {
      method: 'POST',
      headers: json(ctx.tokens.gatewayAgents[member]!),
      body: JSON.stringify({ active: ids, ended: [] }),
    });
    const body = (await res.json()) as { renewed?: number; expired?: number; unknown?: string[] };
    const ok = res.ok && body.renewed === ids.length && body.expired === 0;
    ctx.recorder.record('bulk-renewal', performance.now() - t0, ok, res.status);
    if (!ok) log(`bulk renewal of ${member}: ${res.status} ${JSON.stringify({ ...body, unknown: body.unknown?.length })} for ${ids.length} ids`);
  }
  return { startedAt, endedAt: Date.now() };
}

/**
 * What the two processes' runtimes did during a phase: the event-loop delay of the broker and of the
 * load generator (a stall of the generator delays requests it then counts as the broker's latency,
 * measured from when they were due), and the broker's garbage collections by kind, from its /metrics
 * (prom-client's default metrics; a scrape resets its event-loop histogram, so start() scrapes once).
 */
export async function runtimeMeter(base: string): Promise<{ stop: () => Promise<RuntimeFigures> }> {
  const before = await scrape(base);
  const generator = monitorEventLoopDelay({ resolution: 10 });
  generator.enable();
  return {
    stop: async () => {
      generator.disable();
      const after = await scrape(base);
      const gc: RuntimeFigures['brokerGc'] = {};
      if (before && after) {
        for (const [kind, a] of Object.entries(after.gc)) {
          const b = before.gc[kind] ?? { count: 0, seconds: 0, over10ms: 0 };
          if (a.count > b.count) gc[kind] = { count: a.count - b.count, ms: (a.seconds - b.seconds) * 1000, over10ms: a.over10ms - b.over10ms };
        }
      }
      return {
        brokerLoopDelayMs: after ? after.loop : null,
        generatorLoopDelayMs: { p99: generator.percentile(99) / 1e6, max: generator.max / 1e6 },
        brokerGc: before && after ? gc : null,
      };
    },
  };
}

async function scrape(base: string): Promise<{ loop: { p99: number; max: number }; gc: Record<string, { count: number; seconds: number; over10ms: number }> } | null> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
    const p99 = read('nodejs_eventloop_lag_p99_seconds');
    const max = read('nodejs_eventloop_lag_max_seconds');
    if (!Number.isFinite(p99) || !Number.isFinite(max)) return null;
    const gc: Record<string, { count: number; seconds: number; over10ms: number }> = {};
    const kindOf = (k: string) => (gc[k] ??= { count: 0, seconds: 0, over10ms: 0 });
    for (const m of text.matchAll(/^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} ([0-9.e+-]+)$/gm)) {
      if (m[1] === 'sum') kindOf(m[2]!).seconds = Number(m[3]);
      else kindOf(m[2]!).count = Number(m[3]);
    }
    // The count over 10 ms: all of them less those in the 10 ms bucket.
    for (const m of text.matchAll(/^nodejs_gc_duration_seconds_bucket\{le="0\.01",kind="(\w+)"\} ([0-9.e+-]+)$/gm)) kindOf(m[1]!).over10ms = -Number(m[2]);
    for (const g of Object.values(gc)) g.over10ms += g.count;
    return { loop: { p99, max }, gc };
  } catch {
    return null;
  }
}
