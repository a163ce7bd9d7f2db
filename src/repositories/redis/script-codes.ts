import type { ExpiredLease, Grant, LeaveReason, QueueReason, RefusalCode, WaitingChange, WaitTicket } from '../../domain/grant';
import { storeAnswers, type StoreAnswerName } from '../../domain/store-answers';
import type { LeaseFailure } from '../lease-store';

const answerReplies = Object.fromEntries(Object.entries(storeAnswers).map(([name, a]) => [name, a.reply])) as {
  readonly [K in StoreAnswerName]: (typeof storeAnswers)[K]['reply'];
};

/**
 * Reply codes of the Lua scripts (lua/includes/codes.lua; a test checks both agree): the outcomes
 * below, and every refusal and failure from the table in src/domain/store-answers.ts.
 */
export const ScriptCode = {
  OK: 0,
  CREATED: 1,
  RECONNECTED: 2,
  REPLAYED: 3,
  QUEUED: 4,
  ENDED: 5,
  ...answerReplies,
  STALE_REVISION: -20,
} as const;

export type ScriptOutcome =
  | { kind: 'ok' }
  | { kind: 'granted'; outcome: 'created' | 'reconnected' | 'replayed' | 'ended' }
  | { kind: 'failure'; failure: LeaseFailure }
  | { kind: 'refusal'; code: RefusalCode }
  /** The request waits in line (grant with a ticket). */
  | { kind: 'queued' }
  /** A compare-and-set write found the pool's definition changed since it was read. */
  | { kind: 'stale' };

const outcomes = new Map<number, ScriptOutcome>([
  [ScriptCode.OK, { kind: 'ok' }],
  [ScriptCode.CREATED, { kind: 'granted', outcome: 'created' }],
  [ScriptCode.RECONNECTED, { kind: 'granted', outcome: 'reconnected' }],
  [ScriptCode.REPLAYED, { kind: 'granted', outcome: 'replayed' }],
  [ScriptCode.ENDED, { kind: 'granted', outcome: 'ended' }],
  [ScriptCode.QUEUED, { kind: 'queued' }],
  [ScriptCode.STALE_REVISION, { kind: 'stale' }],
  ...Object.values(storeAnswers).map((a): [number, ScriptOutcome] => [a.reply, a.kind === 'failure' ? { kind: 'failure', failure: a.code } : { kind: 'refusal', code: a.code }]),
]);

/** The one mapping from a script's reply code to what the store answers. */
export function outcomeOf(code: number): ScriptOutcome {
  const outcome = outcomes.get(code);
  if (!outcome) throw new Error(`Lua script answered with unknown code ${code}`);
  return outcome;
}

/** `{ id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs }` (record.lua `grant_reply`). */
export type RawGrant = [string, string, string, string, string, number, number, number, number];
/** `{ id, member, agency, owner }` (reap.lua). */
export type RawExpired = [string, string, string, string];

export function grantOf(pool: string, raw: RawGrant): Grant {
  const [id, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs] = raw;
  return { id, pool, member, agency, owner, clientId, fencingToken, createdAt, expiresAt, ttlMs };
}

export function expiredOf(pool: string, raw: RawExpired[]): ExpiredLease[] {
  return raw.map(([id, member, agency, owner]) => ({ id, pool, member, agency, owner }));
}

/** A ticket as scripts return it (queue.lua `ticket_reply`). */
export type RawTicket = [string, string, string, string, string, number, string, number, string, number, number, string, number, number];

export function ticketOf(pool: string, raw: RawTicket): WaitTicket {
  const [id, owner, agency, clientId, priorityClass, rank, reason, joinedAt, state, position, checkInBy, member, until, estimate] = raw;
  return {
    id,
    pool,
    owner,
    agency,
    clientId,
    priorityClass,
    rank,
    reason: reason as QueueReason,
    joinedAt,
    state: state as WaitTicket['state'],
    position,
    checkInBy,
    offer: member === '' ? null : { member, until },
    estimatedWaitMs: estimate < 0 ? null : estimate,
  };
}

/** Waiting-room changes as scripts return them: { 'offered', ticket } | { 'left', id, owner, reason }. */
export type RawChange = ['offered', RawTicket] | ['left', string, string, string];

export function changesOf(pool: string, raw: RawChange[] | undefined): WaitingChange[] {
  return (raw ?? []).map((c) =>
    c[0] === 'offered' ? { kind: 'offered', ticket: ticketOf(pool, c[1]) } : { kind: 'left', pool, ticketId: c[1], owner: c[2], reason: c[3] as LeaveReason },
  );
}
