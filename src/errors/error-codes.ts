/**
 * Every error the broker answers with, by stable code. One exception filter
 * (src/errors/problem.filter.ts) turns a BrokerError into an
 * application/problem+json body (RFC 9457) with this status and title.
 * docs/errors.md documents each code; a test checks that it does.
 */
export const errorCatalogue = {
  // Admission refusals
  'not-entitled': { status: 403, title: 'Your agency is not entitled to this pool' },
  'employee-at-limit': { status: 409, title: 'You already hold as many sessions in this pool as you may' },
  'agency-at-maximum': { status: 429, title: 'Your agency has reached its maximum in this pool' },
  'pool-unavailable': { status: 503, title: 'No member of this pool is in service' },
  'pool-full': { status: 503, title: 'The pool is full' },
  'capacity-reserved': { status: 503, title: "The remaining capacity is reserved for other agencies' guaranteed shares" },
  'headroom-reserved': { status: 503, title: 'The remaining capacity is reserved for staff of a higher priority class' },
  'waiting-room-full': { status: 503, title: 'The waiting room of this pool is full' },
  // Waiting room
  'ticket-not-found': { status: 404, title: 'No such place in the waiting room' },
  'offer-not-ready': { status: 409, title: 'No slot has been offered to this ticket yet' },
  'offer-expired': { status: 410, title: 'The offer was not claimed in time and has passed to the next in line' },
  // Grants, pools, members
  'unknown-pool': { status: 404, title: 'No such pool' },
  'unknown-member': { status: 404, title: 'No such member in this pool' },
  'grant-not-found': { status: 404, title: 'No such grant' },
  'lease-expired': { status: 410, title: 'The lease has expired and its capacity was returned' },
  'grant-ended': { status: 410, title: 'The grant this Idempotency-Key created has ended' },
  // Operator changes
  'unknown-agency': { status: 404, title: 'This agency has no share of this pool' },
  'capacity-rule-violated': { status: 422, title: 'The change would break a capacity rule of the pool' },
  'concurrent-change': { status: 409, title: "The pool's definition kept changing while this change was made" },
  // Request shape
  'validation-failed': { status: 400, title: 'The request is not valid' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'invalid-grant-id': { status: 400, title: 'The grant id is not well formed' },
  'invalid-idempotency-key': { status: 400, title: 'The Idempotency-Key header is not valid' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'nesting-too-deep': { status: 400, title: 'The request body nests objects and arrays too deep' },
  'array-too-long': { status: 413, title: 'An array in the request body has too many entries' },
  'malformed-url': { status: 400, title: 'The request URL is not well formed' },
  'path-parameter-too-long': { status: 414, title: 'A part of the request path is too long' },
  'headers-too-large': { status: 431, title: 'The request headers are too large' },
  'malformed-request': { status: 400, title: 'The request is not well-formed HTTP' },
  'request-timeout': { status: 408, title: 'The request was not received in time' },
  'unsupported-media-type': { status: 415, title: 'The request body must be application/json' },
  'route-not-found': { status: 404, title: 'No such resource' },
  'method-not-allowed': { status: 405, title: 'Method not allowed on this resource' },
  // Identity
  'token-missing': { status: 401, title: 'A bearer token is required' },
  'token-invalid': { status: 401, title: 'The bearer token is not valid' },
  'token-expired': { status: 401, title: 'The bearer token has expired' },
  forbidden: { status: 403, title: 'Your role does not allow this' },
  // Service
  'rate-limited': { status: 429, title: 'Too many requests' },
  'store-unavailable': { status: 503, title: 'The state store cannot be reached' },
  'shutting-down': { status: 503, title: 'This replica is shutting down' },
  'internal-error': { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface FieldProblem {
  /** JSON pointer-like path into the request, e.g. "/pool" or "header:idempotency-key". */
  path: string;
  message: string;
}

/** A domain error: services throw these, never HTTP exceptions. */
export class BrokerError extends Error {
  readonly status: number;

  /**
   * Without a stack: a BrokerError is an answer (a refusal, a bad request), never a fault to trace,
   * and capturing a stack costs more than the rest of a refusal (storms of pool-full answers).
   */
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: { retryAfterSeconds?: number; errors?: FieldProblem[] } = {},
  ) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail ?? errorCatalogue[code].title);
    Error.stackTraceLimit = limit;
    this.name = 'BrokerError';
    this.status = errorCatalogue[code].status;
  }
}

export const problemTypeBase = 'urn:telework-broker:problem:';
