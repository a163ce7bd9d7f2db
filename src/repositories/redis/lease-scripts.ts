import { compileLibrary, defineScript } from './script-loader';
import type { RawChange, RawExpired, RawGrant, RawTicket } from './script-codes';

/*
 * One typed caller per Lua script (lua/<operation>-<keys>.lua; each file's header
 * names its KEYS and ARGV). Every caller takes (redis, poolBase, now | null, ...ARGV[2..]).
 */

type Code = number;

/** ARGV: owner, agency, clientId, newGrantId, idempotencyKey ('' none), reapBatch, idempotency TTL ms, memo Redis TTL ms, priority class, rank, wait ('1' | ''). */
export const grantScript = defineScript<
  [
    owner: string,
    agency: string,
    clientId: string,
    newGrantId: string,
    idempotencyKey: string,
    reapBatch: number,
    idemTtlMs: number,
    idemPx: number,
    priorityClass: string,
    rank: number,
    wait: string,
  ],
  /** The subject by code: a grant (created, reconnected, replayed, ended), a ticket (queued), Retry-After seconds (refusals), null (unknown pool). */
  [Code, RawGrant | RawTicket | number | null, RawExpired[], RawChange[]]
>('grant-1.lua');

/*
 * Each script answers one fixed shape whatever its code (null where a part is absent), so a change
 * to a reply fails the type check here rather than a length test at run time.
 */
type LeaseReply = [Code, RawGrant | null];
/** Writing lease scripts also answer the waiting-room changes they made. */
type WritingLeaseReply = [Code, RawGrant | null, RawChange[]];

export const heartbeatScript = defineScript<[grantId: string, owner: string], WritingLeaseReply>('heartbeat-1.lua');

export const releaseScript = defineScript<[grantId: string, owner: string], WritingLeaseReply>('release-1.lua');

export const getScript = defineScript<[grantId: string, owner: string], LeaseReply>('get-1.lua');

export const listByOwnerScript = defineScript<[owner: string], RawGrant[]>('list-by-owner-1.lua');

/** ARGV: member. Ids and their expiry (epoch ms) in two lists of the same order: nothing of the grant records. */
export const listByMemberScript = defineScript<[member: string], [Code, string[], number[]]>('list-by-member-1.lua');

/** ARGV and reply as in the header of bulk-renew-1.lua: one part of a report (RedisLeaseStore.bulkRenew). */
export const bulkRenewScript = defineScript<
  [
    member: string,
    graceMs: number,
    mode: '1' | '2' | '',
    endedCount: number,
    activeCount: number,
    renewedBefore: number,
    releasedBefore: number,
    expiredBefore: number,
    unknownBefore: number,
    onlyPartReclaimsAtMost: number | '',
    ...idsThenFields: string[],
  ],
  [Code, number, number, number, string[], RawChange[], RawExpired[], RawExpired[], string[], 0 | 1]
>('bulk-renew-1.lua');

export const reapScript = defineScript<[limit: number], [RawExpired[], RawChange[]]>('reap-1.lua');

/** No ARGV beyond now. Answers ms until the soonest expiry, -1 for none. */
export const nextExpiryScript = defineScript<[], number>('next-expiry-1.lua');

export const snapshotScript = defineScript<
  [],
  [Code, number, string | null, number, number, number, number[], number[], number, number]
>('snapshot-1.lua');

/** ARGV: ticket id, owner, reapBatch. */
export const checkInScript = defineScript<[ticketId: string, owner: string, reapBatch: number], [Code, RawTicket | null, RawExpired[], RawChange[]]>(
  'check-in-1.lua',
);

/** ARGV: ticket id, owner. */
export const claimScript = defineScript<[ticketId: string, owner: string], WritingLeaseReply>('claim-1.lua');

/** ARGV: ticket id, owner. */
export const leaveScript = defineScript<[ticketId: string, owner: string], [Code, RawChange[]]>('leave-1.lua');

/** ARGV: ticket id ('' = the owner's), owner ('' = any). */
export const ticketScript = defineScript<[ticketId: string, owner: string], [Code, RawTicket | null]>('ticket-1.lua');

/** ARGV: expected revision, config file's spec JSON ('' keep), overrides JSON ('' keep), effective spec JSON, ...audit field/value pairs. */
export const syncPoolScript = defineScript<
  [expectedRevision: number, baseJson: string, overridesJson: string, effectiveJson: string, ...audit: string[]],
  [Code, number, RawChange[]]
>('sync-pool-1.lua');

/** ARGV: from (exclusive), to (inclusive), epoch ms. */
export const listEndingScript = defineScript<[fromMs: number, toMs: number], [Code, RawGrant[]]>('list-ending-1.lua');

/** ARGV: member, reporter, window ms. */
export const recordFailureScript = defineScript<[member: string, reporter: string, windowMs: number], [Code, number]>('record-failure-1.lua');

export const leaseScripts = [
  grantScript,
  heartbeatScript,
  releaseScript,
  getScript,
  listByOwnerScript,
  listByMemberScript,
  bulkRenewScript,
  reapScript,
  nextExpiryScript,
  snapshotScript,
  syncPoolScript,
  listEndingScript,
  recordFailureScript,
  checkInScript,
  claimScript,
  leaveScript,
  ticketScript,
].map((s) => s.script);

/** Every lease script as one Redis Function library (script-loader.ts, compileLibrary). */
export const leaseLibrary = compileLibrary(leaseScripts);
