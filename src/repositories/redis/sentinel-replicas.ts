import Redis from 'ioredis';
import type { HostPort } from '../../config/config.loader';
import type { ReplicaSet } from '../lease-store';

/** How often the Sentinels are asked again. */
const POLL_MS = 5_000;

/**
 * The number of replicas Sentinel knows for the master: every one of them could be promoted, so
 * with `REDIS_ACK_REPLICAS=all` a write is confirmed only once that many have it. Sentinel keeps a
 * replica in this list while it is down (until `SENTINEL RESET`), so a replica that is away makes
 * writes answer 503 rather than confirm what a promotion could drop. The count is the largest any
 * Sentinel reports, asked at start and every few seconds; until one answers it is unknown (null).
 * How many of them Sentinel holds down (`s_down`) is kept beside it, for operators
 * (`broker_store_replicas`, docs/operations.md).
 */
export class SentinelReplicas {
  private count: number | null = null;
  private downCount = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sentinels: HostPort[],
    private readonly master: string,
    private readonly password?: string,
    private readonly onError: (e: Error) => void = () => {},
  ) {}

  /** The replicas known and how many of them are down, or null before any Sentinel answered. */
  get set(): ReplicaSet | null {
    return this.count === null ? null : { known: this.count, down: this.downCount };
  }

  /** Asks now, then every few seconds; resolves after the first round. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One round: every Sentinel asked at once, the largest answer kept. */
  async poll(): Promise<void> {
    const answers = (await Promise.all(this.sentinels.map((s) => this.ask(s)))).filter((a): a is ReplicaSet => a !== null);
    if (answers.length === 0) return;
    this.count = Math.max(...answers.map((a) => a.known));
    this.downCount = Math.max(...answers.map((a) => a.down));
  }

  private async ask(s: HostPort): Promise<ReplicaSet | null> {
    const client = new Redis({
      host: s.host,
      port: s.port,
      lazyConnect: true,
      connectTimeout: 1_000,
      commandTimeout: 1_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: true,
      ...(this.password ? { password: this.password } : {}),
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const replicas = (await client.call('SENTINEL', 'REPLICAS', this.master)) as unknown[];
      if (!Array.isArray(replicas)) return null;
      return { known: replicas.length, down: replicas.filter((r) => flagsOf(r).includes('s_down')).length };
    } catch (e) {
      this.onError(e as Error);
      return null;
    } finally {
      client.disconnect();
    }
  }
}

/** A replica's flags from SENTINEL REPLICAS (field, value, field, value, …), e.g. ['slave', 's_down']. */
function flagsOf(replica: unknown): string[] {
  if (!Array.isArray(replica)) return [];
  const i = replica.indexOf('flags');
  return i >= 0 && i % 2 === 0 && typeof replica[i + 1] === 'string' ? (replica[i + 1] as string).split(',') : [];
}
