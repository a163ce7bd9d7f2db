import { OrderedSet } from 'js-sdsl';
import BTree from 'sorted-btree';
import type { Priority, QueueReason, WaitTicket } from '../../domain/grant';
import type { WaitingRoomSpec } from '../../domain/pool-spec';

/** A ticket as the embedded store keeps it. */
export interface StoredTicket {
  id: string;
  owner: string;
  agency: string;
  clientId: string;
  priority: Priority;
  reason: QueueReason;
  joinedAt: number;
  /** Join order within the pool (1, 2, ...). */
  seq: number;
  state: 'waiting' | 'offered';
  /** Waiting: check-in deadline. Offered: end of the claim window. */
  checkInBy: number;
  offer: { member: string; until: number } | null;
}

interface ByTime {
  at: number;
  id: string;
}
const byTime = (a: ByTime, b: ByTime): number => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

interface LineKey {
  rank: number;
  seq: number;
}
/** Line order: higher rank first, then earlier arrival. */
const lineOrder = (a: LineKey, b: LineKey): number => b.rank - a.rank || a.seq - b.seq;

/** Offers are counted in buckets of this length; the pace of the line is read over the last BUCKETS of them. */
export const OFFER_BUCKET_MS = 10_000;
export const OFFER_BUCKETS = 30;

/**
 * The waiting room of one pool in the embedded store: tickets, the line in
 * order with positions (an order-statistic tree, so a place in line among
 * 60,000 is found in O(log n)), one FIFO per (rank, agency) whose heads the
 * offer step considers, deadlines, the admission-rate token bucket and the
 * recent pace of offers. The rules that use it are in MemoryLeaseStore.
 */
export class MemoryWaitingRoom {
  seq = 0;
  readonly tickets = new Map<string, StoredTicket>();
  readonly byOwner = new Map<string, string>();
  private readonly line = new OrderedSet<LineKey>([], lineOrder, true);
  /** `${rank}:${agency}` → seq → ticket id. */
  readonly subQueues = new Map<string, BTree<number, string>>();
  readonly checkIns = new BTree<ByTime, true>(undefined, byTime);
  readonly offers = new BTree<ByTime, true>(undefined, byTime);
  /** Admission-rate bucket in thousandths of an admission; null until first used. */
  private tokens: number | null = null;
  private tokensAt = 0;
  private readonly offerBuckets = new Map<number, number>();
  private lastBucket: number | null = null;

  get waiting(): number {
    return this.line.size();
  }

  get offered(): number {
    return this.offers.size;
  }

  join(t: StoredTicket): void {
    this.tickets.set(t.id, t);
    this.byOwner.set(t.owner, t.id);
    this.enqueue(t);
  }

  /** Takes a waiting ticket out of the line (it is offered, or leaves). */
  dequeue(t: StoredTicket): void {
    this.line.eraseElementByKey({ rank: t.priority.rank, seq: t.seq });
    const key = subQueueKey(t.priority.rank, t.agency);
    const q = this.subQueues.get(key)!;
    q.delete(t.seq);
    if (q.size === 0) this.subQueues.delete(key);
    this.checkIns.delete({ at: t.checkInBy, id: t.id });
  }

  /** Forgets a ticket that is no longer in line (claimed, left, dropped). */
  forget(t: StoredTicket): void {
    if (t.state === 'waiting') this.dequeue(t);
    else this.offers.delete({ at: t.checkInBy, id: t.id });
    this.tickets.delete(t.id);
    this.byOwner.delete(t.owner);
  }

  markOffered(t: StoredTicket, member: string, until: number): void {
    this.dequeue(t);
    t.state = 'offered';
    t.offer = { member, until };
    t.checkInBy = until;
    this.offers.set({ at: until, id: t.id }, true);
  }

  checkedIn(t: StoredTicket, until: number): void {
    this.checkIns.delete({ at: t.checkInBy, id: t.id });
    t.checkInBy = until;
    this.checkIns.set({ at: until, id: t.id }, true);
  }

  /** The heads of the (rank, agency) queues in line order. */
  heads(): StoredTicket[] {
    const heads: StoredTicket[] = [];
    for (const q of this.subQueues.values()) heads.push(this.tickets.get(q.get(q.minKey()!)!)!);
    return heads.sort((a, b) => lineOrder({ rank: a.priority.rank, seq: a.seq }, { rank: b.priority.rank, seq: b.seq }));
  }

  /** Up to `limit` ids whose time in `index` is up (at <= now), earliest first, ties by id. */
  due(index: BTree<ByTime, true>, now: number, limit: number): string[] {
    const out: string[] = [];
    for (let k = index.minKey(); k !== undefined && k.at <= now && out.length < limit; k = index.nextHigherKey(k)) out.push(k.id);
    return out;
  }

  /** 1 for the head of the line. */
  position(t: StoredTicket): number {
    return this.line.find({ rank: t.priority.rank, seq: t.seq }).index + 1;
  }

  /** Refills the admission-rate bucket: `admissionsPerSecond` a second, at most one second's worth. */
  refill(spec: WaitingRoomSpec, now: number): void {
    const rate = spec.admissionsPerSecond;
    if (rate === null) return;
    const max = rate * 1000;
    if (this.tokens === null) {
      this.tokens = max;
      this.tokensAt = now;
    } else if (now > this.tokensAt) {
      this.tokens = Math.min(max, this.tokens + (now - this.tokensAt) * rate);
      this.tokensAt = now;
    }
  }

  /** One admission left in the bucket (always, without a cap). Call refill() first. */
  hasToken(spec: WaitingRoomSpec): boolean {
    return spec.admissionsPerSecond === null || (this.tokens ?? 0) >= 1000;
  }

  takeToken(spec: WaitingRoomSpec): void {
    if (spec.admissionsPerSecond !== null) this.tokens! -= 1000;
  }

  noteOffer(now: number): void {
    const b = Math.floor(now / OFFER_BUCKET_MS);
    if (this.lastBucket !== null && b !== this.lastBucket) {
      for (const k of this.offerBuckets.keys()) if (k <= b - OFFER_BUCKETS) this.offerBuckets.delete(k);
    }
    this.lastBucket = b;
    this.offerBuckets.set(b, (this.offerBuckets.get(b) ?? 0) + 1);
  }

  /** docs/admission.md, "Estimated wait". */
  estimate(position: number, now: number): number | null {
    const b = Math.floor(now / OFFER_BUCKET_MS);
    let count = 0;
    let oldest: number | null = null;
    for (let i = b - OFFER_BUCKETS + 1; i <= b; i++) {
      const n = this.offerBuckets.get(i) ?? 0;
      if (n > 0) {
        count += n;
        oldest ??= i;
      }
    }
    if (count === 0 || oldest === null) return null;
    const elapsed = Math.max(now - oldest * OFFER_BUCKET_MS, OFFER_BUCKET_MS);
    return Math.ceil((position * elapsed) / count);
  }

  view(pool: string, t: StoredTicket, now: number): WaitTicket {
    const position = t.state === 'waiting' ? this.position(t) : 0;
    return {
      id: t.id,
      pool,
      owner: t.owner,
      agency: t.agency,
      clientId: t.clientId,
      priorityClass: t.priority.class,
      rank: t.priority.rank,
      reason: t.reason,
      joinedAt: t.joinedAt,
      state: t.state,
      position,
      checkInBy: t.checkInBy,
      offer: t.offer ? { ...t.offer } : null,
      estimatedWaitMs: t.state === 'waiting' ? this.estimate(position, now) : null,
    };
  }

  private enqueue(t: StoredTicket): void {
    this.line.insert({ rank: t.priority.rank, seq: t.seq });
    const key = subQueueKey(t.priority.rank, t.agency);
    let q = this.subQueues.get(key);
    if (!q) this.subQueues.set(key, (q = new BTree<number, string>()));
    q.set(t.seq, t.id);
    this.checkIns.set({ at: t.checkInBy, id: t.id }, true);
  }
}

export const subQueueKey = (rank: number, agency: string): string => `${rank}:${agency}`;
