import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

/**
 * Real redis-server and redis-sentinel processes on loopback ports, each in its own temp dir,
 * signalled by pid (never by name). Every process started here is killed when the test
 * process exits, also after a failure.
 */

const running = new Set<ChildProcess>();
function killAll(): void {
  for (const p of running) {
    try {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.once('exit', killAll);
// Interrupted (Ctrl-C, a CI timeout): no 'exit' event comes by itself, so take the processes down first.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

export function track(p: ChildProcess): ChildProcess {
  running.add(p);
  p.once('exit', () => running.delete(p));
  return p;
}

export function alive(p: ChildProcess | null): p is ChildProcess {
  return p !== null && p.exitCode === null && p.signalCode === null;
}

/** SIGKILL (after SIGCONT, so a paused process dies too) and wait for the exit. */
export async function killNow(p: ChildProcess | null): Promise<void> {
  if (!alive(p)) return;
  const exited = new Promise((ok) => p.once('exit', ok));
  p.kill('SIGCONT');
  p.kill('SIGKILL');
  await exited;
}

export const sleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

export type Persistence = 'none' | 'aof-always' | 'aof-everysec';

/** A Redis ACL user: its name, its password and what it may run (`ACL SETUSER` rules). */
export interface AclUser {
  name: string;
  password: string;
  rules: readonly string[];
}

export interface RedisNodeOptions {
  port: number;
  persistence: Persistence;
  replicaOf?: number;
  /** Cluster mode with this cluster-node-timeout. */
  clusterNodeTimeoutMs?: number;
  /** ACL users besides `default`, which stays open without a password (the brokers and this harness use it). */
  users?: readonly AclUser[];
  /** The user this node authenticates as on its master when it replicates (`masteruser` / `masterauth`). */
  masterUser?: AclUser;
}

/** One redis-server. `restart({ empty: true })` brings it back with nothing on disk. */
export class RedisNode {
  readonly dir: string;
  proc: ChildProcess | null = null;

  constructor(readonly options: RedisNodeOptions, root: string) {
    this.dir = join(root, `redis-${options.port}`);
    mkdirSync(this.dir, { recursive: true });
    const o = options;
    const conf = [
      `port ${o.port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${this.dir}`,
      'logfile redis.log',
      'save ""',
      `appendonly ${o.persistence === 'none' ? 'no' : 'yes'}`,
      `appendfsync ${o.persistence === 'aof-everysec' ? 'everysec' : 'always'}`,
      'repl-diskless-sync yes',
      'repl-diskless-sync-delay 0',
      'repl-ping-replica-period 1',
      ...(o.replicaOf ? [`replicaof 127.0.0.1 ${o.replicaOf}`] : []),
      ...(o.users ?? []).map((u) => `user ${u.name} on >${u.password} ${u.rules.join(' ')}`),
      ...(o.masterUser ? [`masteruser ${o.masterUser.name}`, `masterauth ${o.masterUser.password}`] : []),
      ...(o.clusterNodeTimeoutMs ? ['cluster-enabled yes', 'cluster-config-file nodes.conf', `cluster-node-timeout ${o.clusterNodeTimeoutMs}`, 'cluster-require-full-coverage no'] : []),
    ];
    writeFileSync(join(this.dir, 'redis.conf'), conf.join('\n') + '\n');
  }

  get port(): number {
    return this.options.port;
  }

  async start(): Promise<void> {
    this.proc = track(spawn('/usr/bin/redis-server', [join(this.dir, 'redis.conf')], { stdio: 'ignore' }));
    await waitForPing(this.port, () => alive(this.proc));
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): void {
    if (alive(this.proc)) this.proc.kill(sig);
  }

  async kill(): Promise<void> {
    await killNow(this.proc);
  }

  /** Killed and started again; `empty` removes what it had on disk first (the AOF, and for a cluster node its state). */
  async restart(opts: { empty: boolean }): Promise<void> {
    await this.kill();
    if (opts.empty) {
      rmSync(join(this.dir, 'appendonlydir'), { recursive: true, force: true });
      rmSync(join(this.dir, 'dump.rdb'), { force: true });
    }
    await this.start();
  }

  /**
   * Takes every command and channel away from an ACL user on this node and drops its connections.
   * They reconnect, authenticate, and every command then answers `-NOPERM`: to a Sentinel a PING
   * without +PONG means the node is down, to a replica a refused PSYNC means no link. Disabling the
   * user (`off`) would not do: a connection whose AUTH fails stays the password-less `default` user,
   * and the Sentinels went on seeing the master up (tried: no +sdown in 20 s). (Redis itself drops
   * the user's subscribers when its channels are taken away; `CLIENT KILL` drops the rest.)
   */
  async revoke(user: AclUser): Promise<void> {
    await command(this.port, 'ACL', 'SETUSER', user.name, 'reset', 'on', `>${user.password}`);
    await command(this.port, 'CLIENT', 'KILL', 'USER', user.name);
  }

  /** Gives an ACL user its rules back; its open connections may use them at once. */
  async restore(user: AclUser): Promise<void> {
    await command(this.port, 'ACL', 'SETUSER', user.name, 'reset', 'on', `>${user.password}`, ...user.rules);
  }

  /** INFO replication's master_repl_offset: how many bytes of writes this node has taken as a master. */
  async replicationOffset(): Promise<number> {
    const m = /master_repl_offset:(\d+)/.exec(String(await command(this.port, 'INFO', 'replication')));
    return m ? Number(m[1]) : NaN;
  }

  /** How often clients called these commands on this node (INFO commandstats; lower-case names). */
  async calls(names: readonly string[]): Promise<number> {
    const stats = String(await command(this.port, 'INFO', 'commandstats'));
    return names.reduce((sum, name) => sum + Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(stats)?.[1] ?? 0), 0);
  }
}

export interface SentinelOptions {
  port: number;
  masterName: string;
  masterPort: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  /** The ACL user this Sentinel authenticates as on the master and its replicas. */
  authUser?: AclUser;
}

export class SentinelNode {
  readonly dir: string;
  proc: ChildProcess | null = null;

  constructor(readonly options: SentinelOptions, root: string) {
    this.dir = join(root, `sentinel-${options.port}`);
    mkdirSync(this.dir, { recursive: true });
    const o = options;
    writeFileSync(
      join(this.dir, 'sentinel.conf'),
      [
        `port ${o.port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${this.dir}`,
        'logfile sentinel.log',
        `sentinel monitor ${o.masterName} 127.0.0.1 ${o.masterPort} 2`,
        `sentinel down-after-milliseconds ${o.masterName} ${o.downAfterMs}`,
        `sentinel failover-timeout ${o.masterName} ${o.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${o.masterName} 1`,
        ...(o.authUser ? [`sentinel auth-user ${o.masterName} ${o.authUser.name}`, `sentinel auth-pass ${o.masterName} ${o.authUser.password}`] : []),
      ].join('\n') + '\n',
    );
  }

  get port(): number {
    return this.options.port;
  }

  async start(): Promise<void> {
    this.proc = track(spawn('/usr/bin/redis-sentinel', [join(this.dir, 'sentinel.conf')], { stdio: 'ignore' }));
    await waitForPing(this.port, () => alive(this.proc));
  }

  async kill(): Promise<void> {
    await killNow(this.proc);
  }
}

/** A fresh temp dir for one topology; removed by `removeDir`. */
export function tempRoot(label: string): string {
  return mkdtempSync(join(tmpdir(), `broker-faults-${label}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

async function waitForPing(port: number, stillRunning: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!stillRunning()) throw new Error(`redis process on ${port} exited at start-up`);
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined); // the refusal is the answer here
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG') return;
    } catch {
      /* not yet */
    } finally {
      c.disconnect();
    }
    await sleep(50);
  }
  throw new Error(`redis process on ${port} did not answer`);
}

/** Runs one command on a short-lived connection. */
export async function command(port: number, ...args: (string | number)[]): Promise<unknown> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000, commandTimeout: 5000 });
  c.on('error', () => undefined); // surfaces as the rejected command
  try {
    await c.connect();
    return await c.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    c.disconnect();
  }
}
