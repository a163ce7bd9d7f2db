import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';

/** A mutation the master applied but too few replicas acknowledged in time: it is not confirmed (503). */
export class NotAcknowledgedError extends Error {
  constructor(
    readonly acknowledged: number,
    readonly required: number,
  ) {
    super(`write not acknowledged by ${required} replica(s) in time (${acknowledged} did)`);
    this.name = 'NotAcknowledgedError';
  }
}

/**
 * Confirms writes the way docs/guarantees.md promises: a mutating answer goes out only once
 * `replicas` replicas have the write (Redis `WAIT`). A replica that Sentinel or Cluster may promote
 * then holds every confirmed grant, renewal and fencing token, so a failover discards only writes
 * no client was told about.
 *
 * `WAIT` covers every earlier write of the connection it is sent on, so the confirmations of all
 * scripts answered in one event-loop turn share one `WAIT` per connection (group commit): its cost
 * is per batch, not per request. On a Cluster the `WAIT` goes to the master connection that ran
 * the pool's script (the pool base names the slot).
 */
export class ReplicaAck {
  private readonly pending = new Map<Redis, Promise<number>>();

  constructor(
    private readonly client: Redis | Cluster,
    readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  get enabled(): boolean {
    return this.replicas > 0;
  }

  /** Resolves once the writes made so far for this pool base are on enough replicas; throws NotAcknowledgedError if not. */
  async confirm(base: string): Promise<void> {
    if (this.replicas === 0) return;
    const conn = this.connectionOf(base);
    let batch = this.pending.get(conn);
    if (!batch) {
      // Sent after the current turn: it then follows (on the connection) every reply awaited in it.
      batch = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.pending.delete(conn);
        return conn.wait(this.replicas, this.timeoutMs);
      });
      this.pending.set(conn, batch);
    }
    const acknowledged = await batch;
    if (acknowledged < this.replicas) throw new NotAcknowledgedError(acknowledged, this.replicas);
  }

  private connectionOf(base: string): Redis {
    if (!(this.client instanceof Cluster)) return this.client;
    const master = this.client.slots[calculateSlot(base)]?.[0];
    const node = master === undefined ? undefined : this.client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
    // Slots not known yet (or moving): nothing can be confirmed now.
    if (!node) throw new NotAcknowledgedError(0, this.replicas);
    return node;
  }
}
