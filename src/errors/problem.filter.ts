import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { BrokerError } from './error-codes';
import { problemOf } from './problem';

/**
 * The one place that turns errors into HTTP answers: application/problem+json
 * with a stable `code`. Unknown errors become a 500 without details; the
 * stack goes to the log, never to the client.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Problem');

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<FastifyRequest>();
    const err = toBrokerError(exception, this.logger);
    logRefusal(this.logger, req, err);
    sendProblem(req, ctx.getResponse<FastifyReply>(), err);
  }
}

/**
 * The level an answer is logged at: refusals are expected outcomes, not faults. 4xx at debug; the
 * catalogued 5xx (capacity refusals such as pool-full, and store-unavailable, whose cause the store
 * call logged already) at info; only internal-error at error, with the stack (toBrokerError logs it).
 */
export function problemLogLevel(err: BrokerError): 'debug' | 'info' | 'error' {
  if (err.code === 'internal-error') return 'error';
  return err.status >= 500 ? 'info' : 'debug';
}

/** One line per refusal: code, status and route pattern, never a stack, a token or an id from the path. */
function logRefusal(logger: Logger, req: FastifyRequest, err: BrokerError): void {
  const level = problemLogLevel(err);
  if (level === 'error') return; // logged with its stack where it was turned into internal-error
  const line = `${err.status} ${err.code} ${req.method} ${req.routeOptions?.url ?? '(no route)'}`;
  if (level === 'info') logger.log(line);
  else logger.debug(line);
}

export function toBrokerError(exception: unknown, logger: Logger): BrokerError {
  if (exception instanceof BrokerError) return exception;
  const fastify = fromFastifyCode((exception as { code?: unknown } | null)?.code);
  if (fastify) return fastify;
  // Fastify plugins' client errors carry only a status: @fastify/static (the /docs assets) refuses
  // dot-segment paths such as /docs/../metrics with a 403, a file it does not have with a 404.
  const pluginStatus = (exception as { statusCode?: unknown } | null)?.statusCode;
  if (!(exception instanceof HttpException) && typeof pluginStatus === 'number' && pluginStatus >= 400 && pluginStatus < 500) {
    return pluginStatus === 403 || pluginStatus === 404 ? new BrokerError('route-not-found') : new BrokerError('malformed-request');
  }
  // Fastify's own errors (body limit, media type) reach here as HttpExceptions with their status; the JSON
  // parser (app.factory.ts) raises malformed-json itself.
  if (exception instanceof HttpException) {
    switch (exception.getStatus()) {
      case HttpStatus.NOT_FOUND:
        return new BrokerError('route-not-found');
      case HttpStatus.METHOD_NOT_ALLOWED:
        return new BrokerError('method-not-allowed');
      case HttpStatus.PAYLOAD_TOO_LARGE:
        return new BrokerError('payload-too-large');
      case HttpStatus.UNSUPPORTED_MEDIA_TYPE:
        return new BrokerError('unsupported-media-type');
      case HttpStatus.TOO_MANY_REQUESTS:
        return new BrokerError('rate-limited', 'slow down and retry later', { retryAfterSeconds: 1 });
      case HttpStatus.BAD_REQUEST:
        return new BrokerError('validation-failed', exception.message);
    }
  }
  logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
  return new BrokerError('internal-error', 'an unexpected error occurred; it has been logged');
}

/**
 * Fastify's client-facing errors by code (node_modules/fastify/lib/errors.js, and Node's HTTP parser
 * for the ones raised before Fastify sees a request); test/security/framework-errors.test.ts enumerates them.
 */
export function fromFastifyCode(code: unknown): BrokerError | null {
  switch (code) {
    case 'FST_ERR_BAD_URL':
      return new BrokerError('malformed-url', 'the path has an invalid percent-encoding');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new BrokerError('path-parameter-too-long');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BrokerError('payload-too-large', 'the body exceeds the limit for this route');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BrokerError('unsupported-media-type', 'send the body as application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BrokerError('malformed-request', 'Content-Length does not match the body');
    case 'FST_ERR_NOT_FOUND':
      return new BrokerError('route-not-found');
    case 'FST_ERR_VALIDATION':
      return new BrokerError('validation-failed', 'the request does not match the route schema');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BrokerError('malformed-json', 'the body is not valid JSON');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new BrokerError('request-timeout', 'the request did not arrive within the request timeout');
    case 'HPE_HEADER_OVERFLOW':
      return new BrokerError('headers-too-large');
  }
  if (typeof code === 'string' && code.startsWith('HPE_')) return new BrokerError('malformed-request');
  return null;
}

export function sendProblem(req: FastifyRequest, reply: FastifyReply, err: BrokerError): void {
  if (reply.sent) return;
  const body = problemOf(err, req.url.split('?')[0]);
  if (err.extra.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(err.extra.retryAfterSeconds));
  if (err.code.startsWith('token-')) void reply.header('WWW-Authenticate', `Bearer error="invalid_token"`);
  void reply.status(err.status).header('Content-Type', 'application/problem+json; charset=utf-8').send(JSON.stringify(body));
}

/** Fastify's frameworkErrors: a URL the router cannot take apart, answered like every other error. */
export function sendFrameworkProblem(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
  sendProblem(req, reply, fromFastifyCode((error as { code?: unknown }).code) ?? new BrokerError('malformed-request'));
}

/**
 * The HTTP server's clientError: malformed framing, headers too large, a request timeout — raised before
 * there is a request object. Answers problem+json on the raw socket, then closes it (as Node does).
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const problem = fromFastifyCode(err.code) ?? new BrokerError('malformed-request');
  if (socket.writable) {
    const body = JSON.stringify(problemOf(problem));
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
