/**
 * What clients asked and were told, as a Jepsen-style history: every request with its
 * monotonic start and end (ms since the run began), the replica it went to, the status and body.
 */

export type OpKind = 'grant' | 'heartbeat' | 'release' | 'get';

export interface Op {
  /** Position in the history (order of starting). */
  n: number;
  kind: OpKind;
  /** Employee subject (never logged by the broker: the broker only sees its pseudonym). */
  employee: string;
  agency: string;
  pool: string;
  clientId: string;
  /** The grant a heartbeat, release or read is about. */
  grantId?: string;
  idempotencyKey?: string;
  replica: number;
  start: number;
  end: number;
  /** 0 = no answer (timeout, connection cut). */
  status: number;
  body: GrantBody | ProblemBody | null;
  /** Wall clock (epoch ms) at `end`, to place the told expiry on the monotonic axis. */
  endWall: number;
}

export interface GrantBody {
  id: string;
  pool: string;
  member: string;
  agency: string;
  clientId: string;
  fencingToken: number;
  createdAt: string;
  expiresAt: string;
  ttlSeconds: number;
  status: string;
}

export interface ProblemBody {
  code: string;
  status: number;
  detail?: string;
}

export function isGrantBody(b: Op['body']): b is GrantBody {
  return b !== null && typeof (b as GrantBody).id === 'string' && typeof (b as GrantBody).fencingToken === 'number';
}

export function problemCode(op: Op): string | undefined {
  return op.body && typeof (op.body as ProblemBody).code === 'string' ? (op.body as ProblemBody).code : undefined;
}

/** An answer that confirms a grant: 201 or 200 with the grant in the body (grant, reconnect, replay, heartbeat). */
export function confirmedGrant(op: Op): GrantBody | null {
  if ((op.kind === 'grant' || op.kind === 'heartbeat') && (op.status === 200 || op.status === 201) && isGrantBody(op.body)) return op.body;
  return null;
}

/** The expiry the answer told, on the run's monotonic axis. */
export function toldExpiry(op: Op, g: GrantBody): number {
  return op.end + (Date.parse(g.expiresAt) - op.endWall);
}

/** The limits of the fault config, as the checker needs them. */
export interface PoolLimits {
  members: Record<string, number>;
  licenceLimit?: number;
  perEmployeeLimit: number;
  agencyMaximum: Record<string, number>;
}
export type Limits = Record<string, PoolLimits>;

/** Records requests as they start and end. */
export class History {
  readonly ops: Op[] = [];
  private readonly t0 = performance.now();

  now(): number {
    return performance.now() - this.t0;
  }

  record(op: Omit<Op, 'n'>): Op {
    const full = { n: this.ops.length, ...op };
    this.ops.push(full);
    return full;
  }
}

/** One line per op, for violation excerpts. */
export function formatOp(op: Op): string {
  const b = op.body;
  const what = isGrantBody(b)
    ? `grant ${b.id} member=${b.member} agency=${b.agency} fence=${b.fencingToken} expires=${b.expiresAt} status=${b.status}`
    : b
      ? `code=${(b as ProblemBody).code}`
      : 'no answer';
  const t = (x: number) => (x / 1000).toFixed(3);
  return (
    `#${op.n} [${t(op.start)}–${t(op.end)}s] r${op.replica} ${op.employee}/${op.clientId} ${op.kind} ${op.pool}` +
    `${op.grantId ? ' ' + op.grantId : ''}${op.idempotencyKey ? ' key=' + op.idempotencyKey : ''} → ${op.status} ${what}`
  );
}
