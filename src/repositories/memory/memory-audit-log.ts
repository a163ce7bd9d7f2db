import { deflateRaw, inflateRawSync } from 'node:zlib';
import { auditFields, auditFieldsOf, type AuditEntry, type AuditFields, type AuditRecord } from '../../domain/audit';
import type { AuditPage, AuditQuery } from '../lease-store';

/** Between a row's values: ASCII's unit separator. */
const SEP = '\x1f';
/**
 * Starts a row written as JSON, because one of its values holds a control character (nothing the
 * broker writes does: its JSON details have them escaped). So a row holds no line break, and a
 * sealed block is its rows one per line.
 */
const JSON_ROW = '\x1e';
const CONTROL = /[\x00-\x1f]/;

/**
 * A record's values (in the order of auditFields, '' where not given) as one flat string. Joined,
 * not JSON.stringify'd: V8 builds a JSON text of this size as a tree of string pieces (a cons
 * string, three or four heap objects that stay), and join writes one flat string, in less time.
 */
export function encodeRow(values: readonly string[]): string {
  for (const v of values) if (CONTROL.test(v)) return JSON_ROW + JSON.stringify(values);
  return values.join(SEP);
}

export function decodeRow(row: string): string[] {
  return row.startsWith(JSON_ROW) ? (JSON.parse(row.slice(1)) as string[]) : row.split(SEP);
}

/** Records of one block: id times and sequence numbers, and the rows (encodeRow). */
interface Block {
  ms: number[];
  seq: number[];
  rows: string[];
}

/**
 * A full block as text (blockText), compressed in the background: `text` until its compression
 * has come back, then `data`. What a binary search needs is kept beside it.
 */
interface Sealed {
  firstMs: number;
  lastMs: number;
  lastSeq: number;
  count: number;
  text: string | null;
  data: Buffer | null;
}

/** Records per block: a full block is sealed (compressed). */
export const AUDIT_BLOCK = 1024;

const emptyBlock = (): Block => ({ ms: [], seq: [], rows: [] });

/**
 * The embedded store's audit trail of one pool: the records a Redis Stream would hold, ids
 * included (`<ms>-<seq>`, never decreasing, like XADD's auto ids). As on Redis, a range is found
 * by the ids' time (binary search, so a long trail is not scanned) and filtered by the records'
 * store time `t`; the two differ only if the clock went back.
 *
 * Kept compact, because the trail is most of what the embedded store holds: it grows with events
 * per retention period, not with sessions held (docs/performance.md). The newest records are one
 * flat string each (see encodeRow) and their ids numbers in arrays of numbers: one heap object per
 * record instead of three to five (seventh pass). Every AUDIT_BLOCK records the block is sealed:
 * made one text and compressed, off the event loop, into one Buffer outside the JavaScript heap, so
 * a trail of months neither counts against the heap's limit nor is traced by every major garbage
 * collection (eighth pass). Records are decoded only when read; a read decompresses the blocks it
 * pages through, one kept for the next page.
 */
export class AuditTrail {
  private readonly sealed: Sealed[] = [];
  private sealedCount = 0;
  private open: Block = emptyBlock();
  private lastMs = 0;
  private lastSeq = 0;
  /** The sealed block read last, decompressed: an export pages through a block in several reads. */
  private cache: { of: Sealed; block: Block } | null = null;

  /** Compressions of sealed blocks not yet back. */
  private readonly compressing = new Set<Promise<void>>();

  /** `blockSize`: records per sealed block (tests make it small). */
  constructor(private readonly blockSize = AUDIT_BLOCK) {}

  get length(): number {
    return this.sealedCount + this.open.rows.length;
  }

  /** Bytes of the compressed blocks (outside the heap) and records in them; for tests and benchmarks. */
  get sealedBytes(): { bytes: number; records: number } {
    const done = this.sealed.filter((x) => x.data);
    return { bytes: done.reduce((n, x) => n + x.data!.length, 0), records: done.reduce((n, x) => n + x.count, 0) };
  }

  /** Resolves once every block sealed so far is compressed (or its compression failed). */
  async compressed(): Promise<void> {
    while (this.compressing.size) await Promise.all([...this.compressing]);
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
    const b = this.open;
    b.ms.push(this.lastMs);
    b.seq.push(this.lastSeq);
    b.rows.push(encodeRow(Object.values(auditFieldsOf(e))));
    if (b.rows.length >= this.blockSize) {
      this.sealed.push(seal(b, this.compressing));
      this.sealedCount += b.rows.length;
      this.open = emptyBlock();
    }
  }

  /** As `LeaseStore.readAudit`: up to `limit` records scanned from the start, `next` when more follow. */
  read(q: AuditQuery): AuditPage {
    const limit = Math.max(1, q.limit);
    let [k, i] = q.after !== undefined ? this.positionAfter(q.after) : this.positionAtOrAfter(q.fromMs);
    const out: AuditRecord[] = [];
    let scanned = 0;
    let lastId = '';
    for (; k <= this.sealed.length; k++, i = 0) {
      const b = this.block(k);
      for (; i < b.rows.length; i++) {
        if (scanned === limit) return { records: out, next: lastId };
        if (b.ms[i]! > q.toMs) return { records: out, next: null };
        scanned++;
        lastId = `${b.ms[i]!}-${b.seq[i]!}`;
        const r = recordOf(lastId, b.rows[i]!);
        const t = Number(r.t);
        if (t >= q.fromMs && t <= q.toMs && (q.agency === undefined || r.ag === q.agency)) out.push(r);
      }
    }
    return { records: out, next: null };
  }

  /** Drops every record older than `olderThanMs` (by id time, as XTRIM MINID); returns how many. */
  trim(olderThanMs: number): number {
    let dropped = 0;
    while (this.sealed.length && this.sealed[0]!.lastMs < olderThanMs) {
      const s = this.sealed.shift()!;
      this.sealedCount -= s.count;
      dropped += s.count;
    }
    this.cache = null;
    const first = this.sealed[0];
    if (first) {
      if (first.firstMs >= olderThanMs) return dropped;
      // The first block straddles the cut: seal what is left of it again.
      const b = unseal(first);
      const cut = firstAtOrAfter(b, olderThanMs);
      this.sealed[0] = seal({ ms: b.ms.slice(cut), seq: b.seq.slice(cut), rows: b.rows.slice(cut) }, this.compressing);
      this.sealedCount -= cut;
      return dropped + cut;
    }
    const cut = firstAtOrAfter(this.open, olderThanMs);
    this.open.ms.splice(0, cut);
    this.open.seq.splice(0, cut);
    this.open.rows.splice(0, cut);
    return dropped + cut;
  }

  /** Block k: a sealed one (decompressed), or the open one after them. */
  private block(k: number): Block {
    const s = this.sealed[k];
    if (!s) return this.open;
    if (this.cache?.of !== s) this.cache = { of: s, block: unseal(s) };
    return this.cache.block;
  }

  /** [block, index] of the first record whose id time is >= ms. */
  private positionAtOrAfter(ms: number): [number, number] {
    const k = firstIndex(this.sealed.length, (j) => this.sealed[j]!.lastMs >= ms);
    return [k, firstAtOrAfter(this.block(k), ms)];
  }

  /** [block, index] of the first record after the one with this id (`<ms>-<seq>`). */
  private positionAfter(id: string): [number, number] {
    const dash = id.indexOf('-');
    const ms = Number(id.slice(0, dash));
    const seq = Number(id.slice(dash + 1));
    const k = firstIndex(this.sealed.length, (j) => this.sealed[j]!.lastMs > ms || (this.sealed[j]!.lastMs === ms && this.sealed[j]!.lastSeq > seq));
    const b = this.block(k);
    return [k, firstIndex(b.rows.length, (j) => b.ms[j]! > ms || (b.ms[j] === ms && b.seq[j]! > seq))];
  }
}

/** The first j in [0, n) for which `after(j)` holds (it holds for every later j too), or n. */
function firstIndex(n: number, after: (j: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (after(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const firstAtOrAfter = (b: Block, ms: number): number => firstIndex(b.rows.length, (j) => b.ms[j]! >= ms);

/**
 * A block as one text: the id times as differences from the block's first (mostly 0 and 1), the
 * sequence numbers, then the rows, one per line. A third smaller than its JSON, so its compression
 * takes a fifth less time.
 */
function blockText(b: Block): string {
  const dms = new Array<number>(b.ms.length);
  for (let i = 0; i < b.ms.length; i++) dms[i] = b.ms[i]! - b.ms[0]!;
  return `${dms.join(',')}\n${b.seq.join(',')}\n${b.rows.join('\n')}`;
}

function blockOf(text: string, firstMs: number): Block {
  const lines = text.split('\n');
  return { ms: lines[0]!.split(',').map((d) => firstMs + Number(d)), seq: lines[1]!.split(',').map(Number), rows: lines.slice(2) };
}

/**
 * Seals a block: its text at once, compressed on libuv's thread pool (deflate level 1, about 1.5 ms
 * for 1,024 records on this host, off the event loop). The pseudonyms and grant ids (random, a
 * third of a record) do not compress at any level. Until the compression is back the block is read
 * from its text; a compression that fails leaves it so.
 */
function seal(b: Block, pending: Set<Promise<void>>): Sealed {
  const s: Sealed = { firstMs: b.ms[0]!, lastMs: b.ms[b.ms.length - 1]!, lastSeq: b.seq[b.seq.length - 1]!, count: b.rows.length, text: blockText(b), data: null };
  const done = new Promise<void>((resolve) =>
    deflateRaw(s.text!, { level: 1 }, (err, data) => {
      if (!err) [s.data, s.text] = [data, null];
      pending.delete(done);
      resolve();
    }),
  );
  pending.add(done);
  return s;
}

function unseal(s: Sealed): Block {
  return blockOf(s.text ?? inflateRawSync(s.data!).toString('utf8'), s.firstMs);
}

function recordOf(id: string, row: string): AuditRecord {
  const values = decodeRow(row);
  const r = { id } as AuditRecord;
  auditFields.forEach((f, k) => ((r as unknown as Record<keyof AuditFields, string>)[f] = values[k]!));
  return r;
}
