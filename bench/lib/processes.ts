import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** Loopback ports of the benchmark: its own Redis, and HTTP servers. */
export const REDIS_PORTS = [6390, 6391, 6392, 6393, 6394, 6395, 6396, 6397, 6398, 6399];
export const HTTP_PORTS = Array.from({ length: 100 }, (_, i) => 18000 + i);

export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export async function freePort(candidates: number[], taken: Set<number> = new Set()): Promise<number> {
  for (const p of candidates) if (!taken.has(p) && (await portFree(p))) return p;
  throw new Error(`no free loopback port among ${candidates[0]}–${candidates[candidates.length - 1]}`);
}

export interface Running {
  child: ChildProcess;
  name: string;
  /** Last lines of its output, for the error message when it dies. */
  tail: () => string;
}

function keepTail(child: ChildProcess): () => string {
  const lines: string[] = [];
  const add = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => lines.join('\n');
}

/** Starts a redis-server of our own (no persistence), so memory figures are clean and nobody else's keys interfere. */
export async function startRedis(port: number): Promise<Running & { client: Redis }> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = keepTail(child);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (e) => reject(new Error(`cannot start redis-server (${e.message}): install it (apt-get install redis-server)`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${tail()}`)));
  });
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('error', () => undefined); // connection refused while it starts; commands still reject
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      try {
        if (client.status !== 'ready') await client.connect();
        await client.ping();
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`redis-server on ${port} did not answer`);
  })();
  await Promise.race([ready, failed]);
  return { child, name: `redis:${port}`, tail, client };
}

/** Starts a Node program and waits until `readyUrl` answers 2xx. */
export async function startNode(name: string, args: string[], env: NodeJS.ProcessEnv, readyUrl: string, timeoutMs = 60000): Promise<Running> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = keepTail(child);
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `${code ?? signal}`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${name} exited (${exited}) before it was ready:\n${tail()}`);
    try {
      const res = await fetch(readyUrl);
      if (res.ok) return { child, name, tail };
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${tail()}`);
}

export async function stop(r: Running): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => r.child.once('exit', () => resolve()));
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 10000);
  await done;
  clearTimeout(timer);
}

/** Resident memory of a process, bytes (Linux /proc). */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time a process has used so far, seconds (Linux /proc: utime + stime). */
export function cpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU time of a process and its children (a BROKER_WORKERS primary and its workers), seconds. */
export function treeCpuSeconds(pid: number): number | null {
  const own = cpuSeconds(pid);
  if (own === null) return null;
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // no children file: count the process alone
  }
  return children.reduce((sum, c) => sum + (cpuSeconds(c) ?? 0), own);
}
