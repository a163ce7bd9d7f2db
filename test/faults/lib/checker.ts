import { confirmedGrant, formatOp, problemCode, toldExpiry, type GrantBody, type Limits, type Op } from './history';

/**
 * The history checker. It works only from what clients were told: a grant is *definitely live*
 * from the end of a confirming answer (201/200 with the grant) until the start of the client's
 * release request or the expiry it was last told, whichever is first.
 */

export const violationKinds = [
  'over-capacity',
  'over-licence',
  'over-member',
  'over-agency',
  'over-employee',
  'lost-grant',
  'fence-reused',
  'fence-changed',
  'fence-order',
  'idempotency',
  'stale-replay',
  'unknown-pool',
  'server-error',
] as const;
export type ViolationKind = (typeof violationKinds)[number];

export interface Violation {
  kind: ViolationKind;
  /** When it happened, ms on the run's monotonic axis. */
  at: number;
  message: string;
  /** The history lines that prove it. */
  excerpt: string[];
}

/** Answers with 503 that are refusals the client may be given, not failures. */
const ALLOWED_503 = new Set(['store-unavailable', 'pool-full', 'capacity-reserved', 'headroom-reserved', 'pool-unavailable', 'waiting-room-full']);

/** Expiries are wall-clock instants placed on the monotonic axis; allow this much for the two clocks' reading. */
export const CLOCK_SLACK_MS = 50;

interface GrantFacts {
  id: string;
  pool: string;
  member: string;
  agency: string;
  employee: string;
  clientId: string;
  confirmations: { op: Op; expiry: number; fence: number }[];
  releases: Op[];
  firstConfirmEnd: number;
  /** The earliest instant the grant can have been created: the start of a request that may have made it. */
  createdNoEarlierThan: number;
  /** Definitely-live intervals, [from, to). */
  live: [number, number][];
}

export function checkHistory(ops: Op[], limits: Limits): Violation[] {
  const grants = collectGrants(ops);
  return [
    ...checkLimits(grants, limits),
    ...checkLost(ops, grants),
    ...checkFences(grants),
    ...checkIdempotency(ops),
    ...checkStaleReplays(ops, grants),
    ...checkAnswers(ops),
  ].sort((a, b) => a.at - b.at);
}

function collectGrants(ops: Op[]): Map<string, GrantFacts> {
  const grants = new Map<string, GrantFacts>();
  for (const op of ops) {
    const g = confirmedGrant(op);
    if (!g) continue;
    let f = grants.get(g.id);
    if (!f) {
      f = { id: g.id, pool: g.pool, member: g.member, agency: g.agency, employee: op.employee, clientId: g.clientId, confirmations: [], releases: [], firstConfirmEnd: Infinity, createdNoEarlierThan: Infinity, live: [] };
      grants.set(g.id, f);
    }
    f.confirmations.push({ op, expiry: toldExpiry(op, g), fence: g.fencingToken });
    f.firstConfirmEnd = Math.min(f.firstConfirmEnd, op.end);
  }
  for (const op of ops) if (op.kind === 'release' && op.grantId) grants.get(op.grantId)?.releases.push(op);

  for (const f of grants.values()) {
    f.confirmations.sort((a, b) => a.op.end - b.op.end);
    const releaseStart = Math.min(Infinity, ...f.releases.map((r) => r.start));
    const pieces = f.confirmations
      .map((c): [number, number] => [c.op.end, Math.min(c.expiry - CLOCK_SLACK_MS, releaseStart)])
      .filter(([a, b]) => b > a);
    f.live = union(pieces);
  }

  // The earliest a grant can have been made: any request whose answer named it, any request with the
  // same Idempotency-Key, and any unanswered request of the same client since its previous grant.
  const keysOf = new Map<string, Set<string>>();
  for (const op of ops) {
    const g = confirmedGrant(op);
    if (g && op.kind === 'grant' && op.idempotencyKey) {
      if (!keysOf.has(g.id)) keysOf.set(g.id, new Set());
      keysOf.get(g.id)!.add(`${op.employee}\u0000${op.idempotencyKey}`);
    }
  }
  const grantOps = ops.filter((o) => o.kind === 'grant');
  for (const f of grants.values()) {
    const keys = keysOf.get(f.id) ?? new Set<string>();
    let earliest = Math.min(...f.confirmations.filter((c) => c.op.kind === 'grant').map((c) => c.op.start), f.firstConfirmEnd);
    const previous = Math.max(
      -Infinity,
      ...[...grants.values()]
        .filter((o) => o !== f && o.employee === f.employee && o.pool === f.pool && o.clientId === f.clientId && o.firstConfirmEnd < f.firstConfirmEnd)
        .map((o) => o.firstConfirmEnd),
    );
    for (const op of grantOps) {
      if (op.employee !== f.employee) continue;
      if (op.idempotencyKey && keys.has(`${op.employee}\u0000${op.idempotencyKey}`)) earliest = Math.min(earliest, op.start);
      const unanswered = op.status === 0 || op.status >= 500;
      if (unanswered && op.pool === f.pool && op.clientId === f.clientId && op.start < f.firstConfirmEnd && op.start > previous) {
        earliest = Math.min(earliest, op.start);
      }
    }
    f.createdNoEarlierThan = earliest;
  }
  return grants;
}

function union(pieces: [number, number][]): [number, number][] {
  const sorted = [...pieces].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function excerptOf(f: GrantFacts): string {
  const c = f.confirmations[0]!.op;
  return formatOp(c);
}

/** Sweeps the definitely-live intervals and reports every instant a count goes above its limit. */
function checkLimits(grants: Map<string, GrantFacts>, limits: Limits): Violation[] {
  const out: Violation[] = [];
  for (const [pool, lim] of Object.entries(limits)) {
    const events: { t: number; d: 1 | -1; g: GrantFacts }[] = [];
    for (const f of grants.values()) {
      if (f.pool !== pool) continue;
      for (const [a, b] of f.live) events.push({ t: a, d: 1, g: f }, { t: b, d: -1, g: f });
    }
    // Ends before starts at the same instant: touching intervals do not overlap.
    events.sort((x, y) => x.t - y.t || x.d - y.d);
    const live = new Set<GrantFacts>();
    const capacity = Object.values(lim.members).reduce((s, n) => s + n, 0);
    const over = new Map<string, boolean>();
    const check = (kind: ViolationKind, key: string, count: number, limit: number, t: number, which: GrantFacts[]) => {
      const k = `${kind}:${key}`;
      if (count > limit) {
        if (!over.get(k)) {
          over.set(k, true);
          out.push({
            kind,
            at: t,
            message: `${count} definitely-live grants for ${key} (limit ${limit}) at ${(t / 1000).toFixed(3)}s`,
            excerpt: which.map(excerptOf),
          });
        }
      } else over.set(k, false);
    };
    for (const e of events) {
      if (e.d === 1) live.add(e.g);
      else live.delete(e.g);
      const all = [...live];
      check('over-capacity', `pool ${pool}`, all.length, capacity, e.t, all);
      if (lim.licenceLimit !== undefined) check('over-licence', `licence of pool ${pool}`, all.length, lim.licenceLimit, e.t, all);
      const m = all.filter((g) => g.member === e.g.member);
      check('over-member', `member ${pool}/${e.g.member}`, m.length, lim.members[e.g.member] ?? 0, e.t, m);
      const a = all.filter((g) => g.agency === e.g.agency);
      check('over-agency', `agency ${e.g.agency} in ${pool}`, a.length, lim.agencyMaximum[e.g.agency] ?? 0, e.t, a);
      const p = all.filter((g) => g.employee === e.g.employee);
      check('over-employee', `employee ${e.g.employee} in ${pool}`, p.length, lim.perEmployeeLimit, e.t, p);
    }
  }
  return out;
}

/**
 * A confirmed grant that reads as unknown (grant-not-found, lease-expired, or grant-ended for a retry of
 * its key) before the expiry the client was told, with no release asked for.
 */
function checkLost(ops: Op[], grants: Map<string, GrantFacts>): Violation[] {
  // A retried key answered grant-ended speaks of the grant that key was confirmed with.
  const grantOfKey = new Map<string, string>();
  for (const op of ops) {
    const g = op.kind === 'grant' && op.idempotencyKey ? confirmedGrant(op) : null;
    if (g) grantOfKey.set(`${op.employee}\u0000${op.idempotencyKey}`, g.id);
  }
  const out: Violation[] = [];
  for (const op of ops) {
    const code = problemCode(op);
    const id =
      op.kind === 'grant'
        ? code === 'grant-ended' && op.idempotencyKey
          ? grantOfKey.get(`${op.employee}\u0000${op.idempotencyKey}`)
          : undefined
        : code === 'grant-not-found' || code === 'lease-expired'
          ? op.grantId
          : undefined;
    const f = id === undefined ? undefined : grants.get(id);
    if (!f) continue;
    const told = f.confirmations.filter((c) => c.op.end < op.start);
    if (told.length === 0) continue;
    const expiry = Math.max(...told.map((c) => c.expiry));
    const releasedBefore = f.releases.some((r) => r !== op && r.start < op.end);
    if (releasedBefore || op.end >= expiry - CLOCK_SLACK_MS) continue;
    out.push({
      kind: 'lost-grant',
      at: op.end,
      message: `grant ${f.id} read as ${code} ${((expiry - op.end) / 1000).toFixed(1)}s before the expiry its owner was told, never released`,
      excerpt: [...told.map((c) => formatOp(c.op)), formatOp(op)],
    });
  }
  return out;
}

function checkFences(grants: Map<string, GrantFacts>): Violation[] {
  const out: Violation[] = [];
  const byPool = new Map<string, GrantFacts[]>();
  for (const f of grants.values()) {
    const fences = new Set(f.confirmations.map((c) => c.fence));
    if (fences.size > 1) {
      out.push({ kind: 'fence-changed', at: f.confirmations[f.confirmations.length - 1]!.op.end, message: `grant ${f.id} was told fencing tokens ${[...fences].join(', ')}`, excerpt: f.confirmations.map((c) => formatOp(c.op)) });
    }
    if (!byPool.has(f.pool)) byPool.set(f.pool, []);
    byPool.get(f.pool)!.push(f);
  }
  const fenceOf = (f: GrantFacts) => f.confirmations[0]!.fence;
  for (const list of byPool.values()) {
    const byFence = new Map<number, GrantFacts[]>();
    for (const f of list) {
      if (!byFence.has(fenceOf(f))) byFence.set(fenceOf(f), []);
      byFence.get(fenceOf(f))!.push(f);
    }
    for (const [fence, same] of byFence) {
      if (same.length < 2) continue;
      out.push({
        kind: 'fence-reused',
        at: Math.max(...same.map((f) => f.firstConfirmEnd)),
        message: `fencing token ${fence} of pool ${same[0]!.pool} was given to ${same.length} different grants`,
        excerpt: same.map(excerptOf),
      });
    }
    // If A was confirmed before B's request started, fence(A) < fence(B).
    const confirmedOrder = [...list].sort((a, b) => a.firstConfirmEnd - b.firstConfirmEnd);
    const requestedOrder = [...list].sort((a, b) => a.createdNoEarlierThan - b.createdNoEarlierThan);
    let i = 0;
    let highest: GrantFacts | null = null;
    for (const b of requestedOrder) {
      while (i < confirmedOrder.length && confirmedOrder[i]!.firstConfirmEnd < b.createdNoEarlierThan) {
        const a = confirmedOrder[i++]!;
        if (!highest || fenceOf(a) > fenceOf(highest)) highest = a;
      }
      if (highest && highest !== b && fenceOf(highest) >= fenceOf(b)) {
        out.push({
          kind: 'fence-order',
          at: b.firstConfirmEnd,
          message: `grant ${b.id} got fencing token ${fenceOf(b)}, not above ${fenceOf(highest)} of ${highest.id} confirmed before it was asked for`,
          excerpt: [excerptOf(highest), excerptOf(b)],
        });
      }
    }
  }
  return out;
}

/** An Idempotency-Key always means one grant. */
function checkIdempotency(ops: Op[]): Violation[] {
  const byKey = new Map<string, Op[]>();
  for (const op of ops) {
    if (op.kind !== 'grant' || !op.idempotencyKey || !confirmedGrant(op)) continue;
    const k = `${op.employee}\u0000${op.idempotencyKey}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k)!.push(op);
  }
  const out: Violation[] = [];
  for (const list of byKey.values()) {
    const ids = new Set(list.map((o) => confirmedGrant(o)!.id));
    if (ids.size > 1) {
      out.push({ kind: 'idempotency', at: list[list.length - 1]!.end, message: `Idempotency-Key ${list[0]!.idempotencyKey} answered with ${ids.size} grant ids`, excerpt: list.map(formatOp) });
    }
  }
  return out;
}

/** A replay after a confirmed release must not call the grant active. */
function checkStaleReplays(ops: Op[], grants: Map<string, GrantFacts>): Violation[] {
  const out: Violation[] = [];
  for (const op of ops) {
    const g: GrantBody | null = op.kind === 'grant' ? confirmedGrant(op) : null;
    if (!g || g.status !== 'active') continue;
    const released = grants.get(g.id)?.releases.find((r) => r.status === 204 && r.end < op.start);
    if (released) {
      out.push({ kind: 'stale-replay', at: op.end, message: `grant ${g.id} was answered as active after its release was confirmed`, excerpt: [formatOp(released), formatOp(op)] });
    }
  }
  return out;
}

/** A configured pool never answers unknown-pool; no 5xx but the refusals and store-unavailable. */
function checkAnswers(ops: Op[]): Violation[] {
  const out: Violation[] = [];
  for (const op of ops) {
    const code = problemCode(op);
    if (code === 'unknown-pool') out.push({ kind: 'unknown-pool', at: op.end, message: `configured pool ${op.pool} answered unknown-pool`, excerpt: [formatOp(op)] });
    else if (op.status >= 500 && !(op.status === 503 && code && ALLOWED_503.has(code))) {
      out.push({ kind: 'server-error', at: op.end, message: `${op.status} ${code ?? '(no problem code)'}`, excerpt: [formatOp(op)] });
    }
  }
  return out;
}

/** Violations by kind, every kind present (0 where none). */
export function countByKind(vs: Violation[]): Record<ViolationKind, number> {
  const counts = Object.fromEntries(violationKinds.map((k) => [k, 0])) as Record<ViolationKind, number>;
  for (const v of vs) counts[v.kind]++;
  return counts;
}

export function formatViolation(v: Violation): string {
  return [`VIOLATION ${v.kind} at ${(v.at / 1000).toFixed(3)}s: ${v.message}`, ...v.excerpt.map((l) => '    ' + l)].join('\n');
}
