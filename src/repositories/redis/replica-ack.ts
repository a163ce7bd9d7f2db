import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import { UnconfirmedWriteError } from '../lease-store';

/** A mutation the master applied but too few replicas acknowledged in time: it is not confirmed (503). */
export class NotAcknowledgedError extends UnconfirmedWriteError {
  constructor(
    readonly acknowledged: number,
    readonly required: number,
  ) {
    super(`write not acknowledged by ${required} replica(s) in time (${acknowledged} did)`);
    this.name = 'NotAcknowledgedError';
  }
}

/**
 * How many replicas must have a write: a fixed number, or 'all' — every replica that could be
 * promoted. 'all' is what keeps a confirmed write through a failover when a master has more than one
 * replica: `WAIT 1` counts *any* replica, and while Sentinel promotes replica B the old master may
 * still have replica C, which acknowledges, is then re-pointed to B and drops the write
 * (docs/faults-campaign.md, seed 10001).
 */
export type AckReplicas = number | 'all';

/**
 * Confirms writes the way docs/guarantees.md promises: a mutating answer goes out only once the
 * required replicas have the write (Redis `WAIT`). The replica Sentinel or Cluster promotes then
 * holds every confirmed grant, renewal and fencing token, so a failover discards only writes no
 * client was told about.
 *
 * `WAIT` covers every earlier write of the connection it is sent on, so the confirmations of all
 * scripts answered in one event-loop turn share one `WAIT` per connection (group commit): its cost
 * is per batch, not per request. On a Cluster the `WAIT` goes to the master connection that ran the
 * pool's script (the pool base names the slot).
 *
 * With 'all', the count is the Cluster's replicas of the slot's master (its slot table), or on
 * Sentinel what `knownReplicas()` says (the replicas Sentinel knows for the master, see
 * SentinelReplicas); never less than 1.
 */
export class ReplicaAck {
  private readonly pending = new Map<Redis, { required: number; answer: Promise<number> }>();

  constructor(
    private readonly client: Redis | Cluster,
    readonly replicas: AckReplicas,
    private readonly timeoutMs: number,
    private readonly knownReplicas: () => number | null = () => 1,
  ) {}

  get enabled(): boolean {
    return this.replicas !== 0;
  }

  /** Resolves once the writes made so far for this pool base are on enough replicas; throws NotAcknowledgedError if not. */
  async confirm(base: string): Promise<void> {
    if (this.replicas === 0) return;
    const { conn, required } = this.target(base);
    let batch = this.pending.get(conn);
    if (!batch || batch.required !== required) {
      // Sent after the current turn: it then follows (on the connection) every reply awaited in it.
      const answer = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.pending.delete(conn);
        return conn.wait(required, this.timeoutMs);
      });
      batch = { required, answer };
      this.pending.set(conn, batch);
    }
    const acknowledged = await batch.answer;
    if (acknowledged < required) throw new NotAcknowledgedError(acknowledged, required);
  }

  private target(base: string): { conn: Redis; required: number } {
    if (!(this.client instanceof Cluster)) {
      if (this.replicas !== 'all') return { conn: this.client, required: this.replicas };
      const known = this.knownReplicas();
      // Nobody has said yet how many replicas there are: nothing can be confirmed.
      if (known === null) throw new NotAcknowledgedError(0, 1);
      return { conn: this.client, required: Math.max(1, known) };
    }
    const nodes = this.client.slots[calculateSlot(base)];
    const master = nodes?.[0];
    const conn = master === undefined ? undefined : this.client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
    // Slots not known yet (or moving): nothing can be confirmed now.
    if (!conn) throw new NotAcknowledgedError(0, this.replicas === 'all' ? 1 : this.replicas);
    return { conn, required: this.replicas === 'all' ? Math.max(1, nodes!.length - 1) : this.replicas };
  }
}
