import type { ErrorCode } from '../errors/error-codes';

/**
 * Every refusal and failure a lease store answers, in one table: its stable code (the API's `code`,
 * docs/errors.md), the number the Redis store's Lua scripts reply with for it, and the detail the API
 * sends. Derived from it: `refusalCodes` (domain/grant.ts), `LeaseFailure` (repositories/lease-store.ts),
 * `ScriptCode` and the reply map (repositories/redis/script-codes.ts), the details (services/lease-errors.ts).
 * Checked against it by test/domain/store-answers.test.ts: lua/includes/codes.lua, grant-1.lua's
 * CODE_NAMES, the k6 client's REFUSAL_CODES and docs/errors.md; `satisfies` below checks the error catalogue.
 */
export const storeAnswers = {
  UNKNOWN_POOL: { reply: -1, code: 'unknown-pool', kind: 'failure', detail: 'there is no pool with this id' },
  UNKNOWN_MEMBER: { reply: -2, code: 'unknown-member', kind: 'failure', detail: 'this pool has no member with this id' },
  GRANT_NOT_FOUND: { reply: -3, code: 'grant-not-found', kind: 'failure', detail: 'no live grant with this id is yours to see (it may have been released)' },
  LEASE_EXPIRED: { reply: -4, code: 'lease-expired', kind: 'failure', detail: 'the lease was not renewed in time; its capacity has been returned — request a new grant' },
  TICKET_NOT_FOUND: { reply: -5, code: 'ticket-not-found', kind: 'failure', detail: 'no place in line with this id is yours (it may have been claimed, left, or dropped after a missed check-in)' },
  OFFER_NOT_READY: { reply: -6, code: 'offer-not-ready', kind: 'failure', detail: 'you are still waiting; check in until a slot is offered' },
  OFFER_EXPIRED: { reply: -7, code: 'offer-expired', kind: 'failure', detail: 'the claim window ended; the slot went to the next in line — join again' },
  NOT_ENTITLED: { reply: -10, code: 'not-entitled', kind: 'refusal', detail: 'your agency has no share of this pool' },
  EMPLOYEE_AT_LIMIT: { reply: -11, code: 'employee-at-limit', kind: 'refusal', detail: 'end one of your sessions in this pool first, or reconnect with the same clientId' },
  AGENCY_AT_MAXIMUM: { reply: -12, code: 'agency-at-maximum', kind: 'refusal', detail: 'your agency uses all sessions it may have in this pool; try again later' },
  POOL_UNAVAILABLE: { reply: -13, code: 'pool-unavailable', kind: 'refusal', detail: 'all members of this pool are in drain or out of service; try again later' },
  POOL_FULL: { reply: -14, code: 'pool-full', kind: 'refusal', detail: 'every session of this pool is in use; try again later' },
  CAPACITY_RESERVED: { reply: -15, code: 'capacity-reserved', kind: 'refusal', detail: 'what is left is guaranteed to other agencies that have not used their share yet; try again later' },
  HEADROOM_RESERVED: { reply: -16, code: 'headroom-reserved', kind: 'refusal', detail: 'what is left is held for staff of a higher priority class; try again later, or wait in line with "wait": true' },
  WAITING_ROOM_FULL: { reply: -17, code: 'waiting-room-full', kind: 'refusal', detail: 'too many are waiting for this pool already; try again later' },
} as const satisfies Record<string, { reply: number; code: ErrorCode; kind: 'failure' | 'refusal'; detail: string }>;

export type StoreAnswerName = keyof typeof storeAnswers;
type Answer = (typeof storeAnswers)[StoreAnswerName];

/** A store refusal of a grant request (the capacity and entitlement rules). */
export type RefusalCode = Extract<Answer, { kind: 'refusal' }>['code'];
/** A failure of a lease operation that is about the request, not the store. */
export type StoreFailure = Extract<Answer, { kind: 'failure' }>['code'];

const answers: readonly Answer[] = Object.values(storeAnswers);

export const refusalCodes: readonly RefusalCode[] = answers.filter((a): a is Extract<Answer, { kind: 'refusal' }> => a.kind === 'refusal').map((a) => a.code);

/** The API detail of a store answer, by code. */
export const storeAnswerDetail = Object.fromEntries(answers.map((a) => [a.code, a.detail])) as Record<RefusalCode | StoreFailure, string>;
