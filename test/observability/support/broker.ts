import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createApp } from '../../../src/app.factory';
import { mintToken, type TokenClaims } from '../../../src/auth/token-minter';
import type { AppConfig } from '../../../src/config/config.loader';
import { CapacityFeedService, type CapacityFeedOptions } from '../../../src/services/capacity-feed.service';
import { deleteKeys, testConfig } from '../../support/test-app';

export const repoRoot = resolve(__dirname, '..', '..', '..');

/** Loopback ports of this suite (HTTP 18100–18199 and 18450–18499, Redis 6400–6409), one per test file, so files may run in parallel. */
export const PORTS = {
  scrape: 18101,
  scrapeRedis: 18102,
  promtool: 18103,
  promtoolRedis: 18104,
  health: 18110,
  healthRedis: 18111,
  healthRedisServer: 6401,
  gateway: 18120,
  gatewayRedis: 18121,
  replicaA: 18130,
  replicaB: 18131,
  // The page tests moved to this suite's newer range (HTTP 18450–18499).
  browser: 18450,
  browserRedis: 18451,
  waitingPage: 18452,
  waitingPageRedis: 18453,
  unreachableRedis: 6409,
} as const;

export interface RunningBroker {
  app: NestFastifyApplication;
  config: AppConfig;
  url: string;
  token(claims: Partial<TokenClaims> & { sub: string }): Promise<string>;
  close(): Promise<void>;
}

export interface BrokerOptions {
  port: number;
  redis?: boolean;
  file?: string;
  env?: Record<string, string>;
  feed?: Partial<CapacityFeedOptions>;
}

/** The whole broker in this process, listening on a real loopback port (HTTP and WebSocket). */
export async function startBroker(opts: BrokerOptions): Promise<RunningBroker> {
  const config = testConfig({ redis: opts.redis ?? false, ...(opts.file ? { file: opts.file } : {}), ...(opts.env ? { env: opts.env } : {}) });
  const app = await createApp(config, { quiet: true });
  if (opts.feed) app.get(CapacityFeedService).configure(opts.feed);
  await app.listen(opts.port, '127.0.0.1');
  return {
    app,
    config,
    url: `http://127.0.0.1:${opts.port}`,
    token: (claims) => mintToken({ agency: 'alpha', ...claims }, config.broker.auth, config.jwtSecret!),
    close: async () => {
      await app.close();
      if (config.redis) await deleteKeys(config.redisKeyPrefix);
    },
  };
}

export interface BrokerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A broker as its own `node` process (src/main.ts compiled on the fly by @swc-node/register, as
 * `npm run start:dev` does), for tests that need several replicas. Resolves once /health/ready answers 200.
 */
export async function spawnBroker(port: number, env: Record<string, string>): Promise<BrokerProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(repoRoot, 'src', 'main.ts')], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker on port ${port} exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await fetch(`${url}/health/ready`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, child, output: () => out, stop };
}

export async function scrape(url: string): Promise<{ contentType: string; body: string }> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return { contentType: res.headers.get('content-type') ?? '', body: await res.text() };
}

/** Metric names (series names, e.g. `x_bucket`) present in a text exposition. */
export function scrapedNames(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** The value of one sample, e.g. sample(body, 'broker_pool_active_sessions{pool="vpn-a"}'). */
export function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export async function api(url: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}
