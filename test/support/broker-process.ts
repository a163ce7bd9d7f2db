import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { TEST_JWT_SECRET, TEST_PSEUDONYM_KEY, TEST_REDIS_URL } from './test-app';

const ROOT = resolve(__dirname, '..', '..');

/** A broker running as its own process, as one replica of several on one Redis. */
export interface Replica {
  port: number;
  proc: ChildProcess;
  /** The last 4 KB the process wrote to stderr (start-up failures). */
  stderr: () => string;
}

/**
 * Starts `src/main.ts` in a child process on 127.0.0.1:<port>, on the local test Redis under `prefix`.
 * Runs through @swc-node/register: tsx (esbuild) emits no decorator metadata, which Nest's DI needs.
 */
export function startReplica(opts: { port: number; prefix: string; configFile: string; env?: Record<string, string> }): Replica {
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(opts.port),
      HOST: '127.0.0.1',
      BROKER_CONFIG: opts.configFile,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: opts.prefix,
      BROKER_JWT_SECRET: TEST_JWT_SECRET,
      BROKER_PSEUDONYM_KEY: TEST_PSEUDONYM_KEY,
      LOG_LEVEL: 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return { port: opts.port, proc, stderr: () => stderr };
}

/** Resolves once the replica answers HTTP; fails with its stderr if it exits first. */
export async function waitUntilServing(r: Replica): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (r.proc.exitCode !== null) throw new Error(`replica on ${r.port} exited with ${r.proc.exitCode}: ${r.stderr()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${r.port}/docs/openapi.json`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`replica on ${r.port} did not start`);
}

/** SIGTERM (graceful shutdown), SIGKILL if it has not exited within 15 s (a loaded CI machine). */
export async function stopReplica(r: Replica): Promise<void> {
  if (r.proc.exitCode !== null || r.proc.signalCode !== null) return;
  const exited = new Promise((ok) => r.proc.once('exit', ok));
  r.proc.kill('SIGTERM');
  const timer = setTimeout(() => r.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
