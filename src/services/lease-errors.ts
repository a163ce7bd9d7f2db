import { Logger } from '@nestjs/common';
import type { RefusalCode } from '../domain/grant';
import { BrokerError } from '../errors/error-codes';
import type { LeaseFailure } from '../repositories/lease-store';

const logger = new Logger('LeaseStore');

const failureDetail: Record<LeaseFailure, string> = {
  'unknown-pool': 'there is no pool with this id',
  'unknown-member': 'this pool has no member with this id',
  'grant-not-found': 'no live grant with this id is yours to see (it may have been released)',
  'lease-expired': 'the lease was not renewed in time; its capacity has been returned — request a new grant',
  'ticket-not-found': 'no place in line with this id is yours (it may have been claimed, left, or dropped after a missed check-in)',
  'offer-not-ready': 'you are still waiting; check in until a slot is offered',
  'offer-expired': 'the claim window ended; the slot went to the next in line — join again',
};

export function failureError(f: LeaseFailure): BrokerError {
  return new BrokerError(f, failureDetail[f]);
}

const refusalDetail: Record<RefusalCode, string> = {
  'not-entitled': 'your agency has no share of this pool',
  'employee-at-limit': 'end one of your sessions in this pool first, or reconnect with the same clientId',
  'agency-at-maximum': 'your agency uses all sessions it may have in this pool; try again later',
  'pool-unavailable': 'all members of this pool are in drain or out of service; try again later',
  'pool-full': 'every session of this pool is in use; try again later',
  'capacity-reserved': "what is left is guaranteed to other agencies that have not used their share yet; try again later",
  'headroom-reserved': 'what is left is held for staff of a higher priority class; try again later, or wait in line with "wait": true',
  'waiting-room-full': 'too many are waiting for this pool already; try again later',
};

export function refusalError(code: RefusalCode, retryAfterSeconds: number | null): BrokerError {
  return new BrokerError(code, refusalDetail[code], retryAfterSeconds === null ? {} : { retryAfterSeconds });
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
