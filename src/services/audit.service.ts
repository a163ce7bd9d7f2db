import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { stringify } from 'csv-stringify';
import { Readable, pipeline } from 'node:stream';
import type { Principal } from '../auth/principal';
import type { AuditEvent, AuditRecord } from '../domain/audit';
import { BrokerError } from '../errors/error-codes';
import { ConfigRepository } from '../repositories/config.repository';
import { CronRepository } from '../repositories/cron.repository';
import { LEASE_STORE, type AuditPort, type JobClaimPort, type StorePort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';
import { failureError, storeCall } from './lease-errors';

/** Records read from the store per round trip while exporting. */
export const AUDIT_PAGE = 500;
const DAY = 24 * 3600 * 1000;

export interface AuditExportQuery {
  fromMs: number;
  toMs: number;
  /** null: every pool. */
  pool: string | null;
  agency?: string;
  event?: AuditEvent;
  format: 'jsonl' | 'csv';
}

/** One record as exported (JSON lines leave out empty fields; CSV has every column). */
export interface AuditLine {
  id: string;
  time: string;
  pool: string;
  event: string;
  owner?: string;
  agency?: string;
  member?: string;
  grant?: string;
  code?: string;
  priorityClass?: string;
  by?: string;
  action?: string;
  detail?: unknown;
}

export const AUDIT_CSV_COLUMNS = ['id', 'time', 'pool', 'event', 'owner', 'agency', 'member', 'grant', 'code', 'priorityClass', 'by', 'action', 'detail'] as const;

/**
 * Reading the audit trail (docs/operations.md, "Audit trail"): operators
 * export it by time range, pool, agency and event as JSON lines or CSV. The
 * export streams — one page of each pool's records at a time, merged by time —
 * so a long range never sits in memory. Reading it is itself audited. A daily
 * job (once across replicas) trims records older than `audit.retentionDays`.
 */
@Injectable()
export class AuditService implements OnApplicationBootstrap {
  private readonly log = new Logger(AuditService.name);
  private readonly pools: string[];

  constructor(
    @Inject(LEASE_STORE) private readonly store: AuditPort & JobClaimPort & StorePort,
    private readonly config: ConfigRepository,
    private readonly cron: CronRepository,
    private readonly events: BrokerEvents,
  ) {
    this.pools = config.get().broker.pools.map((p) => p.id);
  }

  onApplicationBootstrap(): void {
    const { audit, schedules } = this.config.get().broker;
    this.cron.schedule('audit-trim', audit.trimCron, schedules.timezone, (at) => this.trim(at.getTime()).then(() => undefined));
  }

  /** Checks the query, audits the read and returns the export as a stream of text. */
  async export(who: Principal, q: AuditExportQuery): Promise<Readable> {
    if (!(q.fromMs < q.toMs)) {
      throw new BrokerError('validation-failed', 'from must be before to', { errors: [{ path: 'query:from', message: 'must be before to' }] });
    }
    if (q.pool !== null && !this.pools.includes(q.pool)) throw failureError('unknown-pool');
    const pools = q.pool === null ? this.pools : [q.pool];
    const d = JSON.stringify({ from: new Date(q.fromMs).toISOString(), to: new Date(q.toMs).toISOString(), agency: q.agency ?? null, event: q.event ?? null, format: q.format });
    await Promise.all(pools.map((pool) => this.call('appendAudit', () => this.store.appendAudit(pool, { ev: 'operator', by: who.owner, act: 'audit-read', d }))));
    const lines = Readable.from(this.lines(pools, q));
    if (q.format === 'jsonl') {
      return lines.map((l: AuditLine) => `${JSON.stringify(l)}\n`);
    }
    const csv = stringify({ header: true, columns: [...AUDIT_CSV_COLUMNS], escape_formulas: true, cast: { object: (v) => JSON.stringify(v) } });
    return pipeline(lines, csv, (e) => {
      if (e) this.log.error(`audit export broke off: ${e.message}`);
    });
  }

  /** The records of the pools in the range, merged by store time (ties in pool order), one page per pool at a time. */
  async *lines(pools: string[], q: Omit<AuditExportQuery, 'pool' | 'format'>): AsyncGenerator<AuditLine> {
    const cursors = pools.map((pool) => ({ pool, buf: [] as AuditRecord[], after: undefined as string | undefined, done: false }));
    const fill = async (c: (typeof cursors)[number]): Promise<void> => {
      while (c.buf.length === 0 && !c.done) {
        const page = await this.call('readAudit', () =>
          this.store.readAudit(c.pool, { fromMs: q.fromMs, toMs: q.toMs, limit: AUDIT_PAGE, ...(q.agency !== undefined ? { agency: q.agency } : {}), ...(c.after !== undefined ? { after: c.after } : {}) }),
        );
        c.buf = q.event === undefined ? page.records : page.records.filter((r) => r.ev === q.event);
        if (page.next === null) c.done = true;
        else c.after = page.next;
      }
    };
    for (;;) {
      await Promise.all(cursors.map(fill));
      let best: (typeof cursors)[number] | undefined;
      for (const c of cursors) {
        if (c.buf.length > 0 && (!best || Number(c.buf[0]!.t) < Number(best.buf[0]!.t))) best = c;
      }
      if (!best) return;
      yield lineOf(best.pool, best.buf.shift()!);
    }
  }

  /** Trims every pool's records older than the retention, once across replicas per occurrence; returns how many. */
  async trim(at: number): Promise<number> {
    if (!(await this.store.claimJob(`audit-trim:${at}`, 3600_000))) return 0;
    const cut = (await this.store.now()) - this.config.get().broker.audit.retentionDays * DAY;
    let total = 0;
    for (const pool of this.pools) {
      try {
        total += await this.store.trimAudit(pool, cut);
      } catch (e) {
        this.log.warn(`audit trim of pool ${pool} failed: ${(e as Error).message}`);
      }
    }
    await this.store.completeJob(`audit-trim:${at}`, 2 * DAY);
    this.log.log(`audit trail trimmed: ${total} records older than ${new Date(cut).toISOString()}`);
    return total;
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return storeCall(this.events, operation, fn);
  }
}

export function lineOf(pool: string, r: AuditRecord): AuditLine {
  const line: AuditLine = { id: r.id, time: new Date(Number(r.t)).toISOString(), pool, event: r.ev };
  const opt: [keyof AuditLine, string][] = [
    ['owner', r.own],
    ['agency', r.ag],
    ['member', r.m],
    ['grant', r.g],
    ['code', r.code],
    ['priorityClass', r.pc],
    ['by', r.by],
    ['action', r.act],
  ];
  for (const [k, v] of opt) if (v !== '') (line as unknown as Record<string, string>)[k] = v;
  if (r.d !== '') line.detail = parseDetail(r.d);
  return line;
}

function parseDetail(d: string): unknown {
  try {
    return JSON.parse(d);
  } catch {
    return d;
  }
}
