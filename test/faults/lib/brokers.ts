import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { TEST_JWT_SECRET, TEST_PSEUDONYM_KEY } from '../../support/test-app';
import { alive, killNow, sleep, track } from './processes';

const ROOT = resolve(__dirname, '..', '..', '..');
export const FAULTS_CONFIG = resolve(__dirname, '..', 'fixtures', 'faults.yaml');

/**
 * Broker replicas as processes on a Sentinel or Cluster Redis (test/support/broker-process.ts
 * does the same on the standalone test Redis). Each can be killed, paused and started again.
 */
export class Broker {
  proc: ChildProcess | null = null;
  private stderr = '';

  constructor(
    readonly index: number,
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  start(): void {
    this.stderr = '';
    this.proc = track(
      spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          PORT: String(this.port),
          HOST: '127.0.0.1',
          BROKER_CONFIG: FAULTS_CONFIG,
          BROKER_JWT_SECRET: TEST_JWT_SECRET,
          BROKER_PSEUDONYM_KEY: TEST_PSEUDONYM_KEY,
          LOG_LEVEL: 'warn',
          ...this.env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-8000)));
  }

  /** Resolves once the broker answers /health/ready (its store answers, pool definitions written). */
  async waitUntilReady(timeoutMs = 90_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!alive(this.proc)) throw new Error(`broker ${this.index} on ${this.port} exited: ${this.stderr}`);
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/health/ready`, { signal: AbortSignal.timeout(2000) })).ok) return;
      } catch {
        /* not listening yet */
      }
      await sleep(200);
    }
    throw new Error(`broker ${this.index} on ${this.port} not ready in ${timeoutMs} ms: ${this.stderr}`);
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    if (alive(this.proc)) this.proc.kill(sig);
  }

  async kill(): Promise<void> {
    await killNow(this.proc);
  }

  /** What it wrote to stderr lately (warnings, errors). */
  log(): string {
    return this.stderr;
  }
}

export async function startBrokers(basePort: number, count: number, env: Record<string, string>): Promise<Broker[]> {
  const brokers = Array.from({ length: count }, (_, i) => new Broker(i, basePort + i, env));
  for (const b of brokers) b.start();
  await Promise.all(brokers.map((b) => b.waitUntilReady()));
  return brokers;
}
