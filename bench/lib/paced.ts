import { Agent, request } from 'node:http';
import type { OpRecorder } from './load';
import { stallsOf, type StallSummary, type TimedRequest } from './stalls';

/**
 * How many requests of a schedule at `perSecond` are due `nowMs` after `startMs`: request k is due at
 * start + k / perSecond, so k = 0 at the start. (Counting floor(elapsed × rate) sent each request one
 * interval after the time its latency was counted from: +20 ms per request at 50/s.)
 */
export function dueCount(nowMs: number, startMs: number, perSecond: number): number {
  return Math.floor(((nowMs - startMs) / 1000) * perSecond) + 1;
}

/** One request the schedule asks for; `done` sees its answer. */
export interface PacedRequest {
  op: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  done?: (status: number, body: string) => boolean;
}

/**
 * An open-model load generator, shaped like k6's arrival-rate executors: requests start at the
 * times the schedule says, whether earlier ones have answered or not, over at most `connections`
 * keep-alive connections (beyond that they wait for a free one). The latency recorded is from the
 * time a request was due to its answer, so a slow broker cannot hide its queue (no coordinated
 * omission). autocannon's rate limit, by contrast, sends each second's quota in a burst.
 */
export class PacedLoad {
  private readonly agent: Agent;
  private inFlight = 0;
  private readonly idle: (() => void)[] = [];
  /** Requests that started more than 100 ms after they were due (the generator or its connections fell behind). */
  late = 0;
  /** Every answered request, due time from the start of run(): to find the stalls (bench/lib/stalls.ts). */
  private readonly timeline: TimedRequest[] = [];
  private startMs = 0;
  private endMs = 0;

  constructor(
    private readonly base: URL,
    private readonly recorder: OpRecorder,
    connections: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  /** Starts a request due at `dueMs` (performance.now() time). */
  send(r: PacedRequest, dueMs: number): void {
    this.inFlight++;
    if (performance.now() - dueMs > 100) this.late++;
    const req = request(
      { host: this.base.hostname, port: this.base.port, method: r.method, path: r.path, headers: r.body === undefined ? r.headers : { ...r.headers, 'content-length': Buffer.byteLength(r.body) }, agent: this.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ok = r.done ? r.done(status, Buffer.concat(chunks).toString()) : status < 400;
          this.answered(r.op, dueMs, ok, status);
          this.finish();
        });
      },
    );
    req.on('error', () => {
      this.answered(r.op, dueMs, false, 0);
      r.done?.(0, '');
      this.finish();
    });
    req.end(r.body);
  }

  /** Runs `tick(now)` about every millisecond for `seconds`; tick sends what is due. Resolves when every answer is in. */
  async run(seconds: number, tick: (nowMs: number, startMs: number) => void): Promise<void> {
    const start = (this.startMs = performance.now());
    const end = start + seconds * 1000;
    await new Promise<void>((resolve) => {
      const loop = () => {
        const now = performance.now();
        if (now >= end) return resolve();
        tick(now, start);
        setTimeout(loop, 1);
      };
      loop();
    });
    this.endMs = performance.now();
    await this.drained();
  }

  /** The stalls of the run: requests over `thresholdMs` bunched in time, and the `markers` ops in flight then. */
  stalls(thresholdMs: number, markers: readonly string[] = []): StallSummary {
    const timeline = this.timeline.map((t) => ({ ...t, dueMs: t.dueMs - this.startMs }));
    return stallsOf(timeline, { thresholdMs, markers, phaseMs: this.endMs - this.startMs });
  }

  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idle.push(resolve));
  }

  close(): void {
    this.agent.destroy();
  }

  private answered(op: string, dueMs: number, ok: boolean, status: number): void {
    const latencyMs = performance.now() - dueMs;
    this.recorder.record(op, latencyMs, ok, status);
    this.timeline.push({ dueMs, latencyMs, op });
  }

  private finish(): void {
    if (--this.inFlight === 0) for (const f of this.idle.splice(0)) f();
  }
}
