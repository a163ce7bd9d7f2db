import autocannon, { type Instance, type Options, type Request, type Result } from 'autocannon';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Latency of one kind of operation, milliseconds. */
export interface LatencySummary {
  count: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Response times by operation, from autocannon's own timing of each response. */
export class OpRecorder {
  private readonly hist = new Map<string, RecordableHistogram>();
  private readonly errors = new Map<string, number>();
  readonly statuses = new Map<string, Map<number, number>>();

  record(op: string, ms: number, ok: boolean, status: number): void {
    let h = this.hist.get(op);
    if (!h) this.hist.set(op, (h = createHistogram()));
    h.record(Math.max(1, Math.round(ms * 1000))); // microseconds
    if (!ok) this.errors.set(op, (this.errors.get(op) ?? 0) + 1);
    let s = this.statuses.get(op);
    if (!s) this.statuses.set(op, (s = new Map()));
    s.set(status, (s.get(status) ?? 0) + 1);
  }

  ops(): string[] {
    return [...this.hist.keys()];
  }

  summary(op: string): LatencySummary {
    const h = this.hist.get(op);
    if (!h) return { count: 0, errors: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: h.count,
      errors: this.errors.get(op) ?? 0,
      p50: ms(h.percentile(50)),
      p95: ms(h.percentile(95)),
      p99: ms(h.percentile(99)),
      max: ms(h.max),
      mean: ms(h.mean),
    };
  }

  statusText(op: string): string {
    return [...(this.statuses.get(op) ?? new Map<number, number>()).entries()].map(([s, n]) => `${s}×${n}`).join(' ');
  }
}

type Context = Record<string, unknown>;

/**
 * Builds autocannon requests whose responses are timed under an operation
 * name. autocannon calls a request's onResponse and then emits 'response' with
 * that response's time, synchronously, so the operation is known when the
 * time arrives.
 */
export class Tracked {
  private last = { op: 'unknown', ok: false };

  constructor(private readonly recorder: OpRecorder) {}

  request(op: string, req: Request, accept: (status: number, body: string, ctx: Context) => boolean): Request {
    return {
      ...req,
      onResponse: (status, body, ctx) => {
        this.last = { op, ok: accept(status, body, ctx) };
      },
    };
  }

  async run(options: Options): Promise<Result> {
    const instance: Instance = autocannon({ timeout: 30, ...options });
    instance.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
      this.recorder.record(this.last.op, responseTime, this.last.ok, status);
    });
    return await instance;
  }
}

/** Requests per second of a plain autocannon run of one request, its 2xx counted. */
export async function ceiling(options: Options): Promise<{ requestsPerSecond: number; latency: Result['latency']; errors: number }> {
  const res = await autocannon({ timeout: 30, ...options });
  return { requestsPerSecond: res['2xx'] / res.duration, latency: res.latency, errors: res.errors + res.timeouts + res.non2xx };
}
