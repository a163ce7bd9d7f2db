import type { FastifyReply, FastifyRequest } from 'fastify';
import { PAGE_CSP } from '../controllers/pages.controller';

/** Swagger UI at /docs: its scripts are files of this origin, but it styles with inline <style> blocks and attributes. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Fastify onSend hook, for every answer whoever produced it (a controller, the problem filter,
 * Swagger's static files): nosniff everywhere; on HTML a CSP (the pages set their own, /docs gets
 * DOCS_CSP), X-Frame-Options and no referrer; on API answers (JSON, problem+json) `no-store`, so
 * no proxy or browser keeps a grant or a pool snapshot.
 */
export function securityHeaders(req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void): void {
  void reply.header('X-Content-Type-Options', 'nosniff');
  const type = String(reply.getHeader('content-type') ?? '');
  if (type.startsWith('text/html')) {
    if (!reply.hasHeader('content-security-policy')) void reply.header('Content-Security-Policy', req.url.startsWith('/docs') ? DOCS_CSP : PAGE_CSP);
    void reply.header('X-Frame-Options', 'DENY');
    if (!reply.hasHeader('referrer-policy')) void reply.header('Referrer-Policy', 'no-referrer');
  } else if (type.includes('json') || req.url.startsWith('/v1/')) {
    void reply.header('Cache-Control', 'no-store');
  }
  done(null, payload);
}
