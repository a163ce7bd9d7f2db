import { FAILOVERS } from './faults';
import type { RunResult } from './run';

/** The per-run figures the suite reports, and the table the campaign prints. */
export interface RunFigures {
  seed: number;
  topology: string;
  persistence: string;
  faults: string;
  requests: number;
  confirmed: number;
  lost: number;
  overGrants: number;
  fences: number;
  idempotency: number;
  other: number;
  failovers: number;
  unavailablePerFailover: number;
  /** Slowest first-confirmed-write after a failover, s. */
  recoverS: number | null;
  longestGapS: number | null;
  ok: boolean;
}

export function figures(r: RunResult): RunFigures {
  const k = r.byKind;
  const failovers = r.faults.filter((f) => FAILOVERS.has(f.kind));
  const recov = failovers.map((f) => f.recoverS).filter((x): x is number => x !== null);
  return {
    seed: r.plan.seed,
    topology: r.plan.topology === 'sentinel' ? `sentinel+${r.plan.replicas}r` : 'cluster',
    persistence: r.plan.persistence,
    faults: r.plan.faults.join(','),
    requests: r.requests,
    confirmed: r.confirmedGrants,
    lost: k['lost-grant'],
    overGrants: k['over-capacity'] + k['over-licence'] + k['over-member'] + k['over-agency'] + k['over-employee'],
    fences: k['fence-reused'] + k['fence-order'] + k['fence-changed'],
    idempotency: k.idempotency,
    other: k['stale-replay'] + k['unknown-pool'] + k['server-error'],
    failovers: failovers.length,
    unavailablePerFailover: failovers.length ? failovers.reduce((s, f) => s + f.unavailable, 0) / failovers.length : 0,
    recoverS: recov.length ? Math.max(...recov) : null,
    longestGapS: failovers.length ? Math.max(...failovers.map((f) => f.longestGapS)) : null,
    ok: r.failing.length === 0,
  };
}

const COLUMNS: [keyof RunFigures, string, number][] = [
  ['seed', 'seed', 11],
  ['topology', 'topology', 11],
  ['persistence', 'persist', 11],
  ['faults', 'faults', 52],
  ['requests', 'requests', 8],
  ['confirmed', 'granted', 8],
  ['lost', 'lost', 5],
  ['overGrants', 'over', 5],
  ['fences', 'fence', 6],
  ['idempotency', 'idem', 5],
  ['other', 'other', 6],
  ['unavailablePerFailover', '503/fo', 7],
  ['recoverS', 'recov s', 8],
  ['longestGapS', 'gap s', 6],
  ['ok', 'result', 6],
];

export function tableHeader(): string {
  return COLUMNS.map(([, h, w]) => h.padEnd(w)).join(' ');
}

export function tableRow(f: RunFigures): string {
  return COLUMNS.map(([key, , w]) => {
    const v = f[key];
    const s = typeof v === 'boolean' ? (v ? 'ok' : 'FAIL') : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : v === null ? '-' : String(v);
    return s.padEnd(w);
  }).join(' ');
}

export function summary(rows: RunFigures[]): string {
  const sum = (k: keyof RunFigures) => rows.reduce((s, r) => s + (r[k] as number), 0);
  const fo = sum('failovers');
  const recov = rows.map((r) => r.recoverS).filter((x): x is number => x !== null).sort((a, b) => a - b);
  const median = recov.length ? recov[Math.floor(recov.length / 2)]! : null;
  return [
    `runs ${rows.length} (${rows.filter((r) => r.ok).length} ok), requests ${sum('requests')}, confirmed grants ${sum('confirmed')}, failovers ${fo}`,
    `lost confirmed grants ${sum('lost')}, over-grants ${sum('overGrants')}, fencing violations ${sum('fences')}, idempotency ${sum('idempotency')}, other ${sum('other')}`,
    `503 store-unavailable per failover ${fo ? (rows.reduce((s, r) => s + r.unavailablePerFailover * r.failovers, 0) / fo).toFixed(1) : '-'}, ` +
      `seconds to first confirmed write after a failover: median ${median?.toFixed(1) ?? '-'}, max ${recov.length ? recov[recov.length - 1]!.toFixed(1) : '-'}`,
  ].join('\n');
}

/** One fault as the campaign summarizes it per kind. */
export interface FaultFigures {
  topology: string;
  kind: string;
  unavailable: number;
  recoverS: number | null;
  longestGapS: number;
  violations: number;
}

export function faultFigures(r: RunResult): FaultFigures[] {
  return r.faults.map((f) => ({
    topology: r.plan.topology === 'sentinel' ? `sentinel+${r.plan.replicas}r` : 'cluster',
    kind: f.kind,
    unavailable: f.unavailable,
    recoverS: f.recoverS,
    longestGapS: f.longestGapS,
    violations: Object.values(f.violations).reduce((s, n) => s + (n ?? 0), 0),
  }));
}

/** Per topology and fault kind: how often, 503s, seconds to the first confirmed write, violations seen after it. */
export function faultSummary(fs: FaultFigures[]): string {
  const groups = new Map<string, FaultFigures[]>();
  for (const f of fs) {
    const k = `${f.topology} ${f.kind}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(f);
  }
  const lines = ['fault'.padEnd(34) + 'count  503s/fault  recover s (median/max)  gap s (max)  violations'];
  for (const [k, list] of [...groups].sort()) {
    const rec = list.map((f) => f.recoverS).filter((x): x is number => x !== null).sort((a, b) => a - b);
    lines.push(
      k.padEnd(34) +
        String(list.length).padEnd(7) +
        (list.reduce((s, f) => s + f.unavailable, 0) / list.length).toFixed(1).padEnd(12) +
        (rec.length ? `${rec[Math.floor(rec.length / 2)]!.toFixed(1)} / ${rec[rec.length - 1]!.toFixed(1)}` : '-').padEnd(24) +
        Math.max(...list.map((f) => f.longestGapS)).toFixed(1).padEnd(13) +
        String(list.reduce((s, f) => s + f.violations, 0)),
    );
  }
  return lines.join('\n');
}
