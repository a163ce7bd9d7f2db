import { BrokerError, errorCatalogue, problemTypeBase, type ErrorCode, type FieldProblem } from './error-codes';

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  retryAfterSeconds?: number;
  errors?: FieldProblem[];
}

export function problemOf(err: BrokerError, instance?: string): Problem {
  const p: Problem = {
    type: problemTypeBase + err.code,
    title: errorCatalogue[err.code].title,
    status: err.status,
    detail: err.detail ?? errorCatalogue[err.code].title,
    code: err.code,
  };
  if (instance) p.instance = instance;
  if (err.extra.retryAfterSeconds !== undefined) p.retryAfterSeconds = err.extra.retryAfterSeconds;
  if (err.extra.errors) p.errors = err.extra.errors;
  return p;
}

/** Fastify's own errors (body parsing, size limits) as domain errors. */
export function fromFastifyError(e: { code?: string; statusCode?: number; message?: string }): BrokerError | null {
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BrokerError('malformed-json', 'the body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BrokerError('malformed-json', 'the body is empty but Content-Type is application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BrokerError('payload-too-large', 'the body exceeds the limit for this route');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BrokerError('unsupported-media-type', 'send the body as application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BrokerError('validation-failed', 'Content-Length does not match the body');
  }
  if (e instanceof SyntaxError) return new BrokerError('malformed-json', 'the body is not valid JSON');
  if (e.statusCode === 413) return new BrokerError('payload-too-large');
  if (e.statusCode === 415) return new BrokerError('unsupported-media-type');
  return null;
}
