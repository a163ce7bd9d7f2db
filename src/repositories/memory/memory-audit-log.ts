import type { AuditRecord } from '../../domain/audit';
import type { AuditPage, AuditQuery } from '../lease-store';

/*
 * Reading and trimming the embedded store's audit trail of one pool: an
 * append-only array of the records a Redis Stream would hold, ids included
 * (`<ms>-<seq>`, never decreasing, like XADD's auto ids). As on Redis, a range
 * is found by the ids' time (binary search, so a long trail is not scanned)
 * and filtered by the records' store time `t`; the two differ only if the
 * clock went back.
 */

/** As `LeaseStore.readAudit`; copies out. */
export function readAuditRecords(records: readonly AuditRecord[], q: AuditQuery): AuditPage {
  const limit = Math.max(1, q.limit);
  let i = q.after !== undefined ? indexAfter(records, q.after) : firstAtOrAfter(records, q.fromMs);
  const out: AuditRecord[] = [];
  let scanned = 0;
  for (; i < records.length && scanned < limit; i++, scanned++) {
    const r = records[i]!;
    if (msOf(r.id) > q.toMs) return { records: out, next: null };
    const t = Number(r.t);
    if (t >= q.fromMs && t <= q.toMs && (q.agency === undefined || r.ag === q.agency)) out.push({ ...r });
  }
  return { records: out, next: i < records.length && scanned === limit ? records[i - 1]!.id : null };
}

/** Drops every record older than `olderThanMs` (by id time, as XTRIM MINID); returns how many. */
export function trimAuditRecords(records: AuditRecord[], olderThanMs: number): number {
  const cut = firstAtOrAfter(records, olderThanMs);
  records.splice(0, cut);
  return cut;
}

const msOf = (id: string): number => Number(id.slice(0, id.indexOf('-')));
const seqOf = (id: string): number => Number(id.slice(id.indexOf('-') + 1));

/** Index of the first record whose id time is >= ms. */
function firstAtOrAfter(records: readonly AuditRecord[], ms: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (msOf(records[mid]!.id) < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first record after the one with this id. */
function indexAfter(records: readonly AuditRecord[], id: string): number {
  const ms = msOf(id);
  const seq = seqOf(id);
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = msOf(records[mid]!.id);
    if (m < ms || (m === ms && seqOf(records[mid]!.id) <= seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
