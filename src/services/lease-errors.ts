import { Logger } from '@nestjs/common';
import type { RefusalCode } from '../domain/grant';
import { storeAnswerDetail } from '../domain/store-answers';
import { BrokerError } from '../errors/error-codes';
import type { LeaseFailure } from '../repositories/lease-store';

const logger = new Logger('LeaseStore');

export function failureError(f: LeaseFailure): BrokerError {
  return new BrokerError(f, storeAnswerDetail[f]);
}

export function refusalError(code: RefusalCode, retryAfterSeconds: number | null): BrokerError {
  return new BrokerError(code, storeAnswerDetail[code], retryAfterSeconds === null ? {} : { retryAfterSeconds });
}

/** Runs a store call; a store that cannot be reached becomes 'store-unavailable'. */
export async function storeCall<T>(operation: string, fn: () => Promise<T>, observe?: (ms: number, ok: boolean) => void): Promise<T> {
  const t0 = performance.now();
  try {
    const r = await fn();
    observe?.(performance.now() - t0, true);
    return r;
  } catch (e) {
    observe?.(performance.now() - t0, false);
    if (e instanceof BrokerError) throw e;
    logger.error(`store ${operation} failed: ${(e as Error).message}`);
    throw new BrokerError('store-unavailable', 'the broker cannot reach its state store; try again shortly', { retryAfterSeconds: 5 });
  }
}
