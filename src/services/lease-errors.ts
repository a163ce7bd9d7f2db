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
    logger.error(`store ${operation} failed: ${(e as Error).message}`);
    throw new BrokerError('store-unavailable', 'the broker cannot reach its state store; try again shortly', { retryAfterSeconds: 5 });
  }
}
