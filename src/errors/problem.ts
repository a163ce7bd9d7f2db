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
