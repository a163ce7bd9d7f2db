import { checkHistory, countByKind, formatViolation, violationKinds, type ViolationKind } from './lib/checker';
import type { GrantBody, Limits, Op, OpKind } from './lib/history';

/** Hand-made histories: each rule of the checker is shown to fire, and to stay quiet on a correct history. */

const WALL0 = Date.parse('2026-12-01T08:00:00.000Z');
const LIMITS: Limits = {
  p: { members: { m1: 2, m2: 1 }, licenceLimit: 2, perEmployeeLimit: 1, agencyMaximum: { alpha: 2, beta: 1 } },
};

let n = 0;
function op(kind: OpKind, start: number, end: number, status: number, body: Op['body'], extra: Partial<Op> = {}): Op {
  return { n: n++, kind, employee: 'e1', agency: 'alpha', pool: 'p', clientId: 'c', replica: 0, start, end, status, body, endWall: WALL0 + end, ...extra };
}
/** A grant body whose expiry is `expiresAt` ms on the run axis. */
function g(id: string, fence: number, expiresAt: number, extra: Partial<GrantBody> = {}): GrantBody {
  return { id, pool: 'p', member: 'm1', agency: 'alpha', clientId: 'c', fencingToken: fence, createdAt: new Date(WALL0).toISOString(), expiresAt: new Date(WALL0 + expiresAt).toISOString(), ttlSeconds: 10, status: 'active', ...extra };
}
const kinds = (ops: Op[]) => {
  const c = countByKind(checkHistory(ops, LIMITS));
  return Object.fromEntries(Object.entries(c).filter(([, v]) => v > 0)) as Partial<Record<ViolationKind, number>>;
};

describe('history checker', () => {
  it('finds nothing wrong in a correct history: grants, a heartbeat, a release, a seat granted again after the release', () => {
    const h = [
      op('grant', 0, 10, 201, g('p.a', 1, 10_000), { idempotencyKey: 'k-a' }),
      op('grant', 5, 15, 201, g('p.b', 2, 10_000, { member: 'm2', agency: 'beta' }), { employee: 'e2', agency: 'beta', idempotencyKey: 'k-b' }),
      op('heartbeat', 100, 110, 200, g('p.a', 1, 20_000), { grantId: 'p.a' }),
      op('grant', 120, 130, 200, g('p.a', 1, 20_000), { idempotencyKey: 'k-a', replica: 2 }),
      op('release', 200, 210, 204, null, { grantId: 'p.a' }),
      op('grant', 205, 220, 201, g('p.c', 3, 20_000), { employee: 'e3', idempotencyKey: 'k-c' }),
      op('get', 300, 310, 404, { code: 'grant-not-found', status: 404 }, { grantId: 'p.a' }),
      op('get', 10_500, 10_510, 410, { code: 'lease-expired', status: 410 }, { employee: 'e2', agency: 'beta', grantId: 'p.b' }),
      op('grant', 400, 4400, 0, null, { employee: 'e4', idempotencyKey: 'k-d' }),
      op('grant', 500, 510, 503, { code: 'store-unavailable', status: 503 }, { employee: 'e4', idempotencyKey: 'k-d' }),
      op('grant', 600, 610, 503, { code: 'pool-full', status: 503 }, { employee: 'e5' }),
    ];
    expect(kinds(h)).toEqual({});
  });

  it('fires over-capacity, over-licence and over-member when more grants are definitely live than the limits', () => {
    const h = [
      op('grant', 0, 10, 201, g('p.a', 1, 10_000), { employee: 'e1' }),
      op('grant', 0, 10, 201, g('p.b', 2, 10_000), { employee: 'e2' }),
      op('grant', 20, 30, 201, g('p.c', 3, 10_000, { member: 'm2', agency: 'beta' }), { employee: 'e3', agency: 'beta' }),
      op('grant', 40, 50, 201, g('p.d', 4, 10_000, { agency: 'beta' }), { employee: 'e4', agency: 'beta' }),
    ];
    const found = kinds(h);
    expect(found['over-capacity']).toBe(1); // 4 live > 3 seats
    expect(found['over-licence']).toBe(1); // 3 live > licence 2
    expect(found['over-member']).toBe(1); // 3 on m1 > 2
    expect(found['over-agency']).toBe(1); // 2 beta > 1
  });

  it('does not count a grant past the start of its release or past the expiry it was told', () => {
    const h = [
      op('grant', 0, 10, 201, g('p.a', 1, 1_000), { employee: 'e1' }),
      op('grant', 0, 10, 201, g('p.b', 2, 10_000), { employee: 'e2' }),
      op('release', 500, 3000, 0, null, { employee: 'e2', grantId: 'p.b' }), // no answer: it may be released from its start
      op('grant', 1_000, 1_010, 201, g('p.c', 3, 10_000), { employee: 'e3' }),
      op('grant', 1_000, 1_010, 201, g('p.d', 4, 10_000), { employee: 'e4' }),
    ];
    expect(kinds(h)).toEqual({});
  });

  it('fires over-employee when one employee holds more than the per-employee limit', () => {
    const h = [op('grant', 0, 10, 201, g('p.a', 1, 10_000), { clientId: 'x' }), op('grant', 20, 30, 201, g('p.b', 2, 10_000, { member: 'm2', clientId: 'y' }), { clientId: 'y' })];
    expect(kinds(h)).toEqual({ 'over-employee': 1 });
  });

  it('fires lost-grant when a confirmed, renewed grant reads as not found before its told expiry without a release', () => {
    const h = [
      op('grant', 0, 10, 201, g('p.a', 30, 5_000)),
      op('heartbeat', 2_000, 2_010, 200, g('p.a', 30, 7_000), { grantId: 'p.a' }),
      op('get', 4_000, 4_010, 404, { code: 'grant-not-found', status: 404 }, { grantId: 'p.a' }),
      op('heartbeat', 6_000, 6_010, 410, { code: 'lease-expired', status: 410 }, { grantId: 'p.a' }),
    ];
    const vs = checkHistory(h, LIMITS);
    expect(vs.map((v) => v.kind)).toEqual(['lost-grant', 'lost-grant']);
    // The excerpt proves it: the confirming answers and the read.
    expect(formatViolation(vs[0]!)).toMatch(/201 grant p\.a[\s\S]*200 grant p\.a[\s\S]*404 code=grant-not-found/);
  });

  it('fires lost-grant when a retry of the key answers grant-ended before the told expiry, and not after a release', () => {
    const lost = [op('grant', 0, 10, 201, g('p.a', 1, 60_000), { idempotencyKey: 'k-1' }), op('grant', 2_000, 2_010, 410, { code: 'grant-ended', status: 410 }, { idempotencyKey: 'k-1' })];
    expect(kinds(lost)).toEqual({ 'lost-grant': 1 });
    const released = [
      op('grant', 0, 10, 201, g('p.a', 1, 60_000), { idempotencyKey: 'k-1' }),
      op('release', 1_000, 1_010, 204, null, { grantId: 'p.a' }),
      op('grant', 2_000, 2_010, 410, { code: 'grant-ended', status: 410 }, { idempotencyKey: 'k-1' }),
    ];
    expect(kinds(released)).toEqual({});
  });

  it('fires fence-reused and fence-order when a token repeats or goes backwards', () => {
    const h = [
      op('grant', 0, 10, 201, g('p.a', 30, 60_000), { employee: 'e1' }),
      op('grant', 100, 110, 201, g('p.b', 30, 60_000, { member: 'm2', agency: 'beta' }), { employee: 'e2', agency: 'beta' }),
    ];
    expect(kinds(h)).toEqual({ 'fence-reused': 1, 'fence-order': 1 });
    const backwards = [
      op('grant', 0, 10, 201, g('p.a', 30, 60_000), { employee: 'e1' }),
      op('grant', 100, 110, 201, g('p.b', 7, 60_000, { member: 'm2', agency: 'beta' }), { employee: 'e2', agency: 'beta' }),
    ];
    expect(kinds(backwards)).toEqual({ 'fence-order': 1 });
  });

  it('allows any fence order between grants whose requests overlapped, counting an unanswered earlier try as the request', () => {
    const h = [
      op('grant', 0, 4_000, 0, null, { employee: 'e2', agency: 'beta', idempotencyKey: 'k-b' }), // timed out; may have made p.b
      op('grant', 50, 60, 201, g('p.a', 31, 60_000), { employee: 'e1' }),
      op('grant', 4_100, 4_110, 200, g('p.b', 30, 60_000, { member: 'm2', agency: 'beta' }), { employee: 'e2', agency: 'beta', idempotencyKey: 'k-b' }),
    ];
    expect(kinds(h)).toEqual({});
  });

  it('fires fence-changed when one grant is told two tokens', () => {
    const h = [op('grant', 0, 10, 201, g('p.a', 30, 60_000)), op('heartbeat', 100, 110, 200, g('p.a', 31, 60_000), { grantId: 'p.a' })];
    expect(kinds(h)).toEqual({ 'fence-changed': 1 });
  });

  it('fires idempotency when one key is answered with two grant ids', () => {
    const h = [op('grant', 0, 10, 201, g('p.a', 1, 1_000), { idempotencyKey: 'k-1' }), op('grant', 2_000, 2_010, 201, g('p.b', 2, 60_000), { idempotencyKey: 'k-1' })];
    expect(kinds(h)).toEqual({ idempotency: 1 });
  });

  it('fires stale-replay when a replay after a confirmed release calls the grant active', () => {
    const h = [
      op('grant', 0, 10, 201, g('p.a', 1, 60_000), { idempotencyKey: 'k-1' }),
      op('release', 100, 110, 204, null, { grantId: 'p.a' }),
      op('grant', 200, 210, 200, g('p.a', 1, 60_000), { idempotencyKey: 'k-1' }),
    ];
    expect(kinds(h)).toEqual({ 'stale-replay': 1 });
  });

  it('fires unknown-pool for a configured pool and server-error for a 500 or a 502, not for store-unavailable or a refusal', () => {
    const h = [
      op('grant', 0, 10, 404, { code: 'unknown-pool', status: 404 }),
      op('grant', 20, 30, 500, { code: 'internal-error', status: 500 }),
      op('get', 40, 50, 502, null, { grantId: 'p.a' }),
      op('grant', 60, 70, 503, { code: 'store-unavailable', status: 503 }),
      op('grant', 80, 90, 429, { code: 'agency-at-maximum', status: 429 }),
    ];
    expect(kinds(h)).toEqual({ 'unknown-pool': 1, 'server-error': 2 });
  });

  it('has a hand-made history above for every kind it knows', () => {
    // Kept in step with violationKinds: a new kind needs a test that shows it firing.
    expect([...violationKinds].sort()).toEqual(
      ['over-capacity', 'over-licence', 'over-member', 'over-agency', 'over-employee', 'lost-grant', 'fence-reused', 'fence-changed', 'fence-order', 'idempotency', 'stale-replay', 'unknown-pool', 'server-error'].sort(),
    );
  });
});
