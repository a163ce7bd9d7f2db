import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { brokerConfigSchema, type BrokerConfig } from './broker-config.schema';

/** A configuration problem: start-up stops with the file, the path inside it and the reason. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: { path: string; reason: string }[],
  ) {
    super(`invalid configuration in ${file}:\n` + problems.map((p) => `  ${p.path || '(root)'}: ${p.reason}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/** Formats a zod issue path as `pools[0].members[2].maxSessions`. */
export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export function zodProblems(error: z.ZodError): { path: string; reason: string }[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), reason: i.message }));
}

/** Parses and validates a YAML file against a zod schema; throws ConfigError naming file, path and reason. */
export function loadYamlFile<S extends z.ZodTypeAny>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, [{ path: '', reason: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '', reason: e.message.split('\n')[0]! })),
    );
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw new ConfigError(file, zodProblems(parsed.error));
  return parsed.data;
}

const envSchema = z.object({
  BROKER_CONFIG: z.string().min(1).optional(),
  REDIS_URL: z.string().url().optional(),
  REDIS_SENTINELS: z.string().regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, 'must be host:port[,host:port…]').optional(),
  REDIS_SENTINEL_MASTER: z.string().min(1).optional(),
  REDIS_CLUSTER_NODES: z.string().regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, 'must be host:port[,host:port…]').optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{0,64}$/).optional(),
  REDIS_ACK_REPLICAS: z.union([z.literal('all'), z.coerce.number().int().min(0).max(16)], { errorMap: () => ({ message: "must be 'all' or a whole number from 0 to 16" }) }).optional(),
  REDIS_ACK_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).optional(),
  REDIS_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_SLOW_MS: z.coerce.number().int().min(1).optional(),
  LOG_SAMPLE_EVERY: z.coerce.number().int().min(0).optional(),
  BROKER_WORKERS: z.coerce.number().int().min(1).max(256).optional(),
  BROKER_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  BROKER_PSEUDONYM_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  BROKER_STATE_DIR: z.string().min(1).optional(),
  NODE_ENV: z.string().optional(),
});

export type HostPort = { host: string; port: number };
export type RedisTarget =
  | { mode: 'standalone'; url: string; password?: string }
  | { mode: 'sentinel'; sentinels: HostPort[]; master: string; password?: string }
  | { mode: 'cluster'; nodes: HostPort[]; password?: string };

export interface AppConfig {
  configFile: string;
  broker: BrokerConfig;
  /** null → the embedded in-process store (one replica). */
  redis: RedisTarget | null;
  /** The standalone URL, when that is the mode. */
  redisUrl: string | null;
  redisKeyPrefix: string;
  /**
   * Durability of a confirmed answer (docs/guarantees.md): a mutation is answered only once
   * `replicas` Redis replicas acknowledged it (WAIT), within `timeoutMs`; else 503 store-unavailable.
   * 'all': every replica that could be promoted (as Sentinel or the Cluster lists them) — the default
   * on Sentinel and Cluster; 0 = once the master has it (the default for a standalone Redis).
   */
  redisAck: { replicas: number | 'all'; timeoutMs: number };
  /** A Redis command without an answer after this fails (503) instead of hanging while Redis is paused. */
  redisCommandTimeoutMs: number;
  port: number;
  host: string;
  logLevel: string;
  /** Request log (src/logging/request-log.ts): requests slower than this are logged (warn). */
  logSlowMs: number;
  /** Request log: one ordinary request in this many is logged (info); 0 = none. */
  logSampleEvery: number;
  /** Broker processes on one port (src/main.ts); more than one needs the Redis store. */
  workers: number;
  /** HS256 secret (auth.mode hs256). */
  jwtSecret: string | null;
  /** Key of the keyed hash that pseudonymises employee ids. */
  pseudonymKey: string;
  /** Where the embedded default keeps its generated dev secrets. */
  stateDir: string;
  /** Which secrets were generated for local use (start-up warns about them). */
  generatedSecrets: string[];
}

export const DEFAULT_CONFIG_FILE = 'config/broker.yaml';

/**
 * Reads the environment and the pools file once. Nothing else reads process.env.
 * A variable set but empty (`REDIS_URL=`, as Helm values and compose files often leave it) counts as unset.
 */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): AppConfig {
  const parsedEnv = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsedEnv.success) throw new ConfigError('environment', zodProblems(parsedEnv.error));
  const e = parsedEnv.data;
  const configFile = resolve(cwd, e.BROKER_CONFIG ?? DEFAULT_CONFIG_FILE);
  const broker = loadYamlFile(configFile, brokerConfigSchema);
  const redis = redisTarget(e);
  const stateDir = resolve(cwd, e.BROKER_STATE_DIR ?? '.broker');
  if ((e.BROKER_WORKERS ?? 1) > 1 && !redis) {
    throw new ConfigError('environment', [{ path: 'BROKER_WORKERS', reason: 'more than one worker needs the Redis store (the embedded store lives in one process)' }]);
  }
  const generatedSecrets: string[] = [];

  let jwtSecret: string | null = null;
  if (broker.auth.mode === 'hs256') {
    if (e.BROKER_JWT_SECRET) jwtSecret = e.BROKER_JWT_SECRET;
    else if (redis) {
      throw new ConfigError('environment', [{ path: 'BROKER_JWT_SECRET', reason: 'required with auth.mode hs256 when Redis is configured (replicas must share it)' }]);
    } else {
      jwtSecret = devSecret(stateDir, 'dev-jwt-secret');
      generatedSecrets.push('BROKER_JWT_SECRET');
    }
  }
  let pseudonymKey = e.BROKER_PSEUDONYM_KEY ?? null;
  if (!pseudonymKey) {
    if (redis) {
      throw new ConfigError('environment', [{ path: 'BROKER_PSEUDONYM_KEY', reason: 'required when Redis is configured (replicas must pseudonymise alike)' }]);
    }
    pseudonymKey = devSecret(stateDir, 'dev-pseudonym-key');
    generatedSecrets.push('BROKER_PSEUDONYM_KEY');
  }

  return {
    configFile,
    broker,
    redis,
    redisUrl: redis?.mode === 'standalone' ? redis.url : null,
    redisKeyPrefix: e.REDIS_KEY_PREFIX ?? 'tb:',
    redisAck: {
      // Sentinel and Cluster exist to fail over: there the safe mode is the default (docs/guarantees.md).
      replicas: e.REDIS_ACK_REPLICAS ?? (redis && redis.mode !== 'standalone' ? 'all' : 0),
      timeoutMs: e.REDIS_ACK_TIMEOUT_MS ?? 500,
    },
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS ?? 5_000,
    port: e.PORT ?? 8080,
    host: e.HOST ?? '127.0.0.1',
    logLevel: e.LOG_LEVEL ?? 'info',
    logSlowMs: e.LOG_SLOW_MS ?? 500,
    logSampleEvery: e.LOG_SAMPLE_EVERY ?? 1000,
    workers: e.BROKER_WORKERS ?? 1,
    jwtSecret,
    pseudonymKey,
    stateDir,
    generatedSecrets,
  };
}

/** A random secret kept in the state dir, so the broker and `npm run token` agree without any set-up. */
export function devSecret(stateDir: string, name: string): string {
  const file = join(stateDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

function hostPorts(list: string): HostPort[] {
  return list.split(',').map((hp) => {
    const i = hp.lastIndexOf(':');
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
}

function redisTarget(e: z.infer<typeof envSchema>): RedisTarget | null {
  const set = [e.REDIS_URL && 'REDIS_URL', e.REDIS_SENTINELS && 'REDIS_SENTINELS', e.REDIS_CLUSTER_NODES && 'REDIS_CLUSTER_NODES'].filter(Boolean);
  if (set.length > 1) throw new ConfigError('environment', [{ path: set.join(', '), reason: 'set only one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES' }]);
  const password = e.REDIS_PASSWORD ? { password: e.REDIS_PASSWORD } : {};
  if (e.REDIS_URL) return { mode: 'standalone', url: e.REDIS_URL, ...password };
  if (e.REDIS_SENTINELS) {
    if (!e.REDIS_SENTINEL_MASTER) throw new ConfigError('environment', [{ path: 'REDIS_SENTINEL_MASTER', reason: 'required with REDIS_SENTINELS' }]);
    return { mode: 'sentinel', sentinels: hostPorts(e.REDIS_SENTINELS), master: e.REDIS_SENTINEL_MASTER, ...password };
  }
  if (e.REDIS_CLUSTER_NODES) return { mode: 'cluster', nodes: hostPorts(e.REDIS_CLUSTER_NODES), ...password };
  return null;
}
