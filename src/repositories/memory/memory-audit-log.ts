import { auditFields, auditFieldsOf, type AuditEntry, type AuditFields, type AuditRecord } from '../../domain/audit';
import type { AuditPage, AuditQuery } from '../lease-store';

/** Between a row's values: ASCII's unit separator. */
const SEP = '\x1f';
/** Starts a row written as JSON, because one of its values holds SEP (nothing the broker writes does). */
const JSON_ROW = '\x1e';

/**
 * A record's values (in the order of auditFields, '' where not given) as one flat string. Joined,
 * not JSON.stringify'd: V8 builds a JSON text of this size as a tree of string pieces (a cons
 * string, three or four heap objects that stay), and join writes one flat string, in less time.
 */
export function encodeRow(values: readonly string[]): string {
  if (values[0]?.startsWith(JSON_ROW)) return JSON_ROW + JSON.stringify(values);
  for (const v of values) if (v.includes(SEP)) return JSON_ROW + JSON.stringify(values);
  return values.join(SEP);
}

export function decodeRow(row: string): string[] {
  return row.startsWith(JSON_ROW) ? (JSON.parse(row.slice(1)) as string[]) : row.split(SEP);
}

/**
 * The embedded store's audit trail of one pool: the records a Redis Stream would hold, ids
 * included (`<ms>-<seq>`, never decreasing, like XADD's auto ids). As on Redis, a range is found
 * by the ids' time (binary search, so a long trail is not scanned) and filtered by the records'
 * store time `t`; the two differ only if the clock went back.
 *
 * Kept compact, because the trail is most of what the embedded store holds: it grows with events
 * per retention period, not with sessions held (docs/performance.md). A record is one flat string
 * (its eleven fields, see encodeRow) and its id two numbers in arrays of numbers, instead of an
 * object with eleven fields, an id string and the strings made for it: one heap object per record
 * instead of three to five (measured in a heap snapshot), which the garbage collector traces on
 * every major collection of a broker that holds them for days (docs/performance.md, seventh
 * pass). Records are decoded only when read.
 */
export class AuditTrail {
  /** Id time of each record, epoch ms (an array of doubles: no heap object per record). */
  private ms: number[] = [];
  private seq: number[] = [];
  private rows: string[] = [];
  private lastMs = 0;
  private lastSeq = 0;

  get length(): number {
    return this.rows.length;
  }

  /** Appends a record; its id time is its store time `t`, or the last id's if the clock went back. */
  append(e: AuditEntry): void {
    const t = Number(e.t);
    if (t > this.lastMs) {
      this.lastMs = t;
      this.lastSeq = 0;
    } else {
      this.lastSeq++;
    }
    this.ms.push(this.lastMs);
    this.seq.push(this.lastSeq);
    this.rows.push(encodeRow(Object.values(auditFieldsOf(e))));
  }

  /** As `LeaseStore.readAudit`. */
  read(q: AuditQuery): AuditPage {
    const limit = Math.max(1, q.limit);
    let i = q.after !== undefined ? this.indexAfter(q.after) : this.firstAtOrAfter(q.fromMs);
    const out: AuditRecord[] = [];
    let scanned = 0;
    for (; i < this.rows.length && scanned < limit; i++, scanned++) {
      if (this.ms[i]! > q.toMs) return { records: out, next: null };
      const r = this.record(i);
      const t = Number(r.t);
      if (t >= q.fromMs && t <= q.toMs && (q.agency === undefined || r.ag === q.agency)) out.push(r);
    }
    return { records: out, next: i < this.rows.length && scanned === limit ? this.idOf(i - 1) : null };
  }

  /** Drops every record older than `olderThanMs` (by id time, as XTRIM MINID); returns how many. */
  trim(olderThanMs: number): number {
    const cut = this.firstAtOrAfter(olderThanMs);
    this.ms.splice(0, cut);
    this.seq.splice(0, cut);
    this.rows.splice(0, cut);
    return cut;
  }

  private idOf(i: number): string {
    return `${this.ms[i]!}-${this.seq[i]!}`;
  }

  private record(i: number): AuditRecord {
    const values = decodeRow(this.rows[i]!);
    const r = { id: this.idOf(i) } as AuditRecord;
    auditFields.forEach((f, k) => ((r as unknown as Record<keyof AuditFields, string>)[f] = values[k]!));
    return r;
  }

  /** Index of the first record whose id time is >= ms. */
  private firstAtOrAfter(ms: number): number {
    let lo = 0;
    let hi = this.ms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ms[mid]! < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first record after the one with this id (`<ms>-<seq>`). */
  private indexAfter(id: string): number {
    const dash = id.indexOf('-');
    const ms = Number(id.slice(0, dash));
    const seq = Number(id.slice(dash + 1));
    let lo = 0;
    let hi = this.ms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.ms[mid]!;
      if (m < ms || (m === ms && this.seq[mid]! <= seq)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
