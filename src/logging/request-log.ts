import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export interface RequestLogOptions {
  /** Requests that took at least this long are logged at warn. */
  slowMs: number;
  /** One ordinary request in this many is logged at info (0 = none): a sample, not a record. */
  sampleEvery: number;
}

/** Probes and scrapes are never sampled (they are still logged when they fail or are slow). */
const UNSAMPLED = /^\/(health|metrics)/;

/**
 * One line for each request operations need: server errors (error), slow requests (warn) and a
 * sample of the rest (info). Refusals such as pool-full are counted by the metrics, not logged.
 * Written from Fastify's onResponse hook, so the request path pays nothing else: no child logger,
 * no serialiser, no async context. The line has the method, the path (no query: it may carry a
 * token), the status and the time; no header, so no token and no employee id, ever.
 */
export function addRequestLog(fastify: FastifyInstance, log: Logger, options: RequestLogOptions): void {
  let seen = 0;
  fastify.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const ms = reply.elapsedTime;
    let level: 'error' | 'warn' | 'info';
    // 503 is a refusal with Retry-After (pool full, store unreachable: logged where it happens).
    if (status >= 500 && status !== 503) level = 'error';
    else if (ms >= options.slowMs) level = 'warn';
    else if (options.sampleEvery > 0 && ++seen >= options.sampleEvery && !UNSAMPLED.test(req.url)) {
      seen = 0;
      level = 'info';
    } else return done();
    if (log.isLevelEnabled(level)) {
      const q = req.url.indexOf('?');
      log[level]({ req: { id: req.id, method: req.method, url: q < 0 ? req.url : req.url.slice(0, q) }, status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
    done();
  });
}
