import { Logger } from '@nestjs/common';
import type { RefusalCode } from '../domain/grant';
import { storeAnswerDetail } from '../domain/store-answers';
import { BrokerError } from '../errors/error-codes';
import { UnconfirmedWriteError, type LeaseFailure } from '../repositories/lease-store';
import type { BrokerEvents } from './broker-events';

const logger = new Logger('LeaseStore');

export function failureError(f: LeaseFailure): BrokerError {
  return new BrokerError(f, storeAnswerDetail[f]);
}

export function refusalError(code: RefusalCode, retryAfterSeconds: number | null): BrokerError {
  return new BrokerError(code, storeAnswerDetail[code], retryAfterSeconds === null ? {} : { retryAfterSeconds });
}

/**
 * A store failure is logged once per operation every STORE_FAILURE_LOG_MS, with how many more there
 * were since: while Redis is away or its replicas do not confirm, every request fails the same way,
 * and a line for each would be thousands a second (the metrics count each one).
 */
export const STORE_FAILURE_LOG_MS = 10_000;
const lastLogged = new Map<string, { at: number; more: number }>();

function logStoreFailure(operation: string, e: Error): void {
  const now = Date.now();
  const last = lastLogged.get(operation);
  if (last && now - last.at < STORE_FAILURE_LOG_MS) {
    last.more++;
    return;
  }
  lastLogged.set(operation, { at: now, more: 0 });
  const more = last && last.more > 0 ? ` (and ${last.more} more failures of ${operation} in the ${Math.round((now - last.at) / 1000)} s before)` : '';
  logger.error(`store ${operation} failed: ${e.message}${more}`);
}

/**
 * Runs a store call and reports it as a 'storeCall' event (the store metrics); a store that cannot be
 * reached, or that applied a write its replicas did not confirm (`unconfirmed`), becomes
 * 'store-unavailable'.
 */
export async function storeCall<T>(events: BrokerEvents, operation: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    const r = await fn();
    events.emit('storeCall', { operation, durationMs: performance.now() - t0, ok: true, unconfirmed: false });
    return r;
  } catch (e) {
    events.emit('storeCall', { operation, durationMs: performance.now() - t0, ok: false, unconfirmed: e instanceof UnconfirmedWriteError });
    if (e instanceof BrokerError) throw e;
    logStoreFailure(operation, e as Error);
    throw new BrokerError('store-unavailable', 'the broker cannot reach its state store; try again shortly', { retryAfterSeconds: 5 });
  }
}
