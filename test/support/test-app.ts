import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import { createApp } from '../../src/app.factory';
import { mintToken, type TokenClaims } from '../../src/auth/token-minter';
import { loadAppConfig, type AppConfig } from '../../src/config/config.loader';

export const TEST_REDIS_URL = 'redis://127.0.0.1:6379';
export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
export const TEST_PSEUDONYM_KEY = 'test-pseudonym-key-long-enough-0123456789';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  token(claims: Partial<TokenClaims> & { sub: string }): Promise<string>;
  close(): Promise<void>;
}

/** Config as the broker would read it, from a fixture file; with `redis`, on the local Redis under a fresh key prefix. */
export function testConfig(opts: { redis?: boolean; file?: string; env?: Record<string, string> } = {}): AppConfig {
  return loadAppConfig({
    BROKER_CONFIG: resolve(__dirname, '..', 'fixtures', opts.file ?? 'small.yaml'),
    BROKER_JWT_SECRET: TEST_JWT_SECRET,
    BROKER_PSEUDONYM_KEY: TEST_PSEUDONYM_KEY,
    BROKER_STATE_DIR: join(tmpdir(), 'broker-test-state'),
    LOG_LEVEL: 'silent',
    ...(opts.redis ? { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: `test:${randomUUID()}:` } : {}),
    ...opts.env,
  });
}

/** The whole application through the Fastify adapter, after ready(); requests go through app.inject(). */
export async function startTestApp(opts: { redis?: boolean; file?: string; env?: Record<string, string> } = {}): Promise<TestApp> {
  const config = testConfig(opts);
  const app = await createApp(config, { quiet: true });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    config,
    token: (claims) => mintToken({ agency: 'alpha', ...claims }, config.broker.auth, config.jwtSecret!),
    close: async () => {
      await app.close();
      if (config.redis) await deleteKeys(config.redisKeyPrefix);
    },
  };
}

/** Removes every key under a test's prefix (never FLUSHDB: the local Redis is shared). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
