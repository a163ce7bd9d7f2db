/**
 * The reference model of the operations rules (docs/admission.md, "Runtime
 * overrides", "Maximum session duration", "Audit trail: reading"; docs/operations.md),
 * layered over AdmissionModel: plain lists and recomputation, no indexes.
 */
import type { AuditEntry, AuditRecord } from '../../src/domain/audit';
import type { Grant } from '../../src/domain/grant';
import { applyOverrides, type PoolLayers, type PoolOverrides } from '../../src/domain/pool-overrides';
import type { PoolSpec } from '../../src/domain/pool-spec';
import type { AuditPage, AuditQuery, LeaseResult, OperatorAudit, OverridesWrite } from '../../src/repositories/lease-store';
import type { AdmissionModel } from './admission.model';

interface Layers {
  base: PoolSpec;
  overrides: PoolOverrides;
  revision: number;
}

const clone = <T>(x: T): T => structuredClone(x);

export class OperationsModel {
  private readonly layers = new Map<string, Layers>();
  /** pool → member → reporter → time of the latest report. */
  private readonly failures = new Map<string, Map<string, Map<string, number>>>();
  /** pool → how many records were trimmed (record i is the (trimmed + i)-th ever written). */
  private readonly trimmed = new Map<string, number>();
  private readonly jobs = new Map<string, number>();

  constructor(private readonly admission: AdmissionModel) {}

  /** The config file's definitions: the overrides stay, the effective definition is the new one with them applied. */
  syncPools(specs: PoolSpec[], now: number): void {
    for (const spec of specs) {
      const l = this.layers.get(spec.id);
      const next: Layers = { base: clone(spec), overrides: l?.overrides ?? {}, revision: (l?.revision ?? 0) + 1 };
      this.layers.set(spec.id, next);
      this.admission.syncPools([applyOverrides(next.base, next.overrides)], now);
    }
  }

  getPoolLayers(pool: string): PoolLayers | null {
    const l = this.layers.get(pool);
    const effective = this.admission.getPoolSpec(pool);
    return l && effective ? clone({ base: l.base, overrides: l.overrides, effective, revision: l.revision }) : null;
  }

  setPoolOverrides(pool: string, overrides: PoolOverrides, expected: number, audit: OperatorAudit | undefined, now: number): LeaseResult<OverridesWrite> {
    const l = this.layers.get(pool);
    if (!l) return { ok: false, failure: 'unknown-pool' };
    if (l.revision !== expected) return { ok: true, value: { applied: false, revision: l.revision } };
    l.overrides = clone(overrides);
    l.revision += 1;
    const effective = applyOverrides(l.base, l.overrides);
    this.admission.syncPools([effective], now);
    if (audit) this.append(pool, { t: String(now), ...audit });
    return { ok: true, value: { applied: true, revision: l.revision, effective } };
  }

  recordMemberFailure(pool: string, member: string, reporter: string, windowMs: number, now: number): LeaseResult<number> {
    const spec = this.admission.getPoolSpec(pool);
    if (!spec) return { ok: false, failure: 'unknown-pool' };
    if (!spec.members.some((m) => m.id === member)) return { ok: false, failure: 'unknown-member' };
    let byPool = this.failures.get(pool);
    if (!byPool) this.failures.set(pool, (byPool = new Map()));
    let reports = byPool.get(member);
    if (!reports) byPool.set(member, (reports = new Map()));
    reports.set(reporter, now);
    return { ok: true, value: [...reports.values()].filter((at) => at >= now - windowMs).length };
  }

  clearMemberFailures(pool: string, member: string): void {
    this.failures.get(pool)?.delete(member);
  }

  sessionsEnding(pool: string, fromMs: number, toMs: number, now: number): Grant[] {
    const p = this.admission.pools.get(pool);
    const max = p?.spec.maxSessionMs;
    if (!p || max === undefined) return [];
    return p.leases
      .filter((l) => l.expiresAt > now && l.createdAt + max > fromMs && l.createdAt + max <= toMs)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map(clone);
  }

  append(pool: string, entry: AuditEntry): void {
    const p = this.admission.pools.get(pool);
    if (!p) return;
    p.audit.push({ own: '', ag: '', m: '', g: '', code: '', pc: '', by: '', act: '', d: '', ...entry });
  }

  /** Records with ids `<t>-<n>` (n counts every record ever written to the pool), read from the whole trail. */
  readAudit(pool: string, q: AuditQuery): AuditPage {
    const p = this.admission.pools.get(pool);
    if (!p) return { records: [], next: null };
    const base = this.trimmed.get(pool) ?? 0;
    const all: AuditRecord[] = p.audit.map((r, i) => ({ id: `${r.t}-${base + i}`, ...r }));
    const start = q.after === undefined ? 0 : all.findIndex((r) => Number(r.id.split('-')[1]) > Number(q.after!.split('-')[1]));
    const rest = start < 0 ? [] : all.slice(start).filter((r) => Number(r.t) >= q.fromMs && Number(r.t) <= q.toMs);
    const page = rest.slice(0, q.limit).filter((r) => q.agency === undefined || r.ag === q.agency);
    return { records: page, next: rest.length > q.limit ? rest[q.limit - 1]!.id : null };
  }

  trimAudit(pool: string, olderThanMs: number): number {
    const p = this.admission.pools.get(pool);
    if (!p) return 0;
    const keep = p.audit.filter((r) => Number(r.t) >= olderThanMs);
    const dropped = p.audit.length - keep.length;
    p.audit.splice(0, p.audit.length, ...keep);
    this.trimmed.set(pool, (this.trimmed.get(pool) ?? 0) + dropped);
    return dropped;
  }

  claimJob(name: string, ttlMs: number): boolean {
    const until = this.jobs.get(name);
    if (until !== undefined && until > Date.now()) return false;
    this.jobs.set(name, Date.now() + ttlMs);
    return true;
  }

  completeJob(name: string, keepMs: number): void {
    this.jobs.set(name, Date.now() + keepMs);
  }
}
