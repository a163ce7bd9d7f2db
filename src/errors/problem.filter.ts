import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
    sendProblem(ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>(), toBrokerError(exception, this.logger));
  }
}

export function toBrokerError(exception: unknown, logger: Logger): BrokerError {
  if (exception instanceof BrokerError) return exception;
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

export function sendProblem(req: FastifyRequest, reply: FastifyReply, err: BrokerError): void {
  if (reply.sent) return;
  const body = problemOf(err, req.url.split('?')[0]);
  if (err.extra.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(err.extra.retryAfterSeconds));
  if (err.code.startsWith('token-')) void reply.header('WWW-Authenticate', `Bearer error="invalid_token"`);
  void reply.status(err.status).header('Content-Type', 'application/problem+json; charset=utf-8').send(JSON.stringify(body));
}
