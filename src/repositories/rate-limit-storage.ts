import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';

/**
 * Request budgets in Redis (@nest-lab/throttler-storage-redis), shared by every replica. The library
 * sends its script with EVAL on every request; here it is registered once under a versioned name (as
 * the store's scripts are, src/repositories/redis/script-loader.ts) and called with EVALSHA. Same
 * script, same keys, same reply. The connection is its own and is closed with the module.
 */
export class RedisRateLimitStorage extends ThrottlerStorageRedisService {
  private readonly command: string;

  constructor(client: Redis | Cluster) {
    super(client as Redis);
    this.disconnectRequired = true;
    this.command = `tbRateLimit_${createHash('sha1').update(this.scriptSrc).digest('hex').slice(0, 12)}`;
    client.defineCommand(this.command, { numberOfKeys: 2, lua: this.scriptSrc });
  }

  override async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    const hitKey = `{${key}:${throttlerName}}:hits`;
    const blockKey = `{${key}:${throttlerName}}:blocked`;
    const run = (this.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[this.command]!;
    const reply = await run.call(this.redis, hitKey, blockKey, throttlerName, ttl, limit, blockDuration);
    if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((n) => typeof n === 'number')) throw new TypeError(`rate-limit script replied ${JSON.stringify(reply)}`);
    const [totalHits, timeToExpire, isBlocked, timeToBlockExpire] = reply as [number, number, number, number];
    return { totalHits, timeToExpire: Math.ceil(timeToExpire / 1000), isBlocked: isBlocked === 1, timeToBlockExpire: Math.ceil(timeToBlockExpire / 1000) };
  }
}
