import Redis from 'ioredis';
import type { HostPort } from '../../config/config.loader';

/** How often the Sentinels are asked again. */
const POLL_MS = 5_000;

/**
 * The number of replicas Sentinel knows for the master: every one of them could be promoted, so
 * with `REDIS_ACK_REPLICAS=all` a write is confirmed only once that many have it. Sentinel keeps a
 * replica in this list while it is down (until `SENTINEL RESET`), so a replica that is away makes
 * writes answer 503 rather than confirm what a promotion could drop. The count is the largest any
 * Sentinel reports, asked at start and every few seconds; until one answers it is unknown (null).
 */
export class SentinelReplicas {
  private count: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sentinels: HostPort[],
    private readonly master: string,
    private readonly password?: string,
    private readonly onError: (e: Error) => void = () => {},
  ) {}

  /** The latest count, or null before any Sentinel answered. */
  get known(): number | null {
    return this.count;
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
    const answers = await Promise.all(this.sentinels.map((s) => this.ask(s)));
    const counts = answers.filter((n): n is number => n !== null);
    if (counts.length > 0) this.count = Math.max(...counts);
  }

  private async ask(s: HostPort): Promise<number | null> {
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
      return Array.isArray(replicas) ? replicas.length : null;
    } catch (e) {
      this.onError(e as Error);
      return null;
    } finally {
      client.disconnect();
    }
  }
}
