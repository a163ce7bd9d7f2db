import { defineScript } from './script-loader';
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
  [Code] | [Code, RawGrant | RawTicket | number, RawExpired[], RawChange[]]
>('grant-1.lua');

type LeaseReply = [Code] | [Code, RawGrant];
/** Writing lease scripts also answer the waiting-room changes they made. */
type WritingLeaseReply = [Code] | [Code, RawChange[]] | [Code, RawGrant, RawChange[]];

export const heartbeatScript = defineScript<[grantId: string, owner: string], WritingLeaseReply>('heartbeat-1.lua');

export const releaseScript = defineScript<[grantId: string, owner: string], WritingLeaseReply>('release-1.lua');

export const getScript = defineScript<[grantId: string, owner: string], LeaseReply>('get-1.lua');

export const listByOwnerScript = defineScript<[owner: string], RawGrant[]>('list-by-owner-1.lua');

/** ARGV: member, grace ms, number of ended ids, ...ended, ...active. */
export const bulkRenewScript = defineScript<
  [member: string, graceMs: number, endedCount: number, ...ids: string[]],
  [Code] | [Code, number, number, number, string[], RawChange[], RawExpired[], RawExpired[]]
>('bulk-renew-1.lua');

export const reapScript = defineScript<[limit: number], [] | [RawExpired[], RawChange[]]>('reap-1.lua');

export const snapshotScript = defineScript<
  [],
  [Code] | [Code, number, string, number, number, number, number[], number[], number, number]
>('snapshot-1.lua');

/** ARGV: ticket id, owner, reapBatch. */
export const checkInScript = defineScript<[ticketId: string, owner: string, reapBatch: number], [Code] | [Code, RawChange[]] | [Code, RawTicket, RawExpired[], RawChange[]]>(
  'check-in-1.lua',
);

/** ARGV: ticket id, owner. */
export const claimScript = defineScript<[ticketId: string, owner: string], [Code] | [Code, RawChange[]] | [Code, RawGrant, RawChange[]]>('claim-1.lua');

/** ARGV: ticket id, owner. */
export const leaveScript = defineScript<[ticketId: string, owner: string], [Code] | [Code, RawChange[]]>('leave-1.lua');

/** ARGV: ticket id ('' = the owner's), owner ('' = any). */
export const ticketScript = defineScript<[ticketId: string, owner: string], [Code] | [Code, RawTicket]>('ticket-1.lua');

/** ARGV: expected revision, config file's spec JSON ('' keep), overrides JSON ('' keep), effective spec JSON, ...audit field/value pairs. */
export const syncPoolScript = defineScript<
  [expectedRevision: number, baseJson: string, overridesJson: string, effectiveJson: string, ...audit: string[]],
  [Code, number] | [Code, number, RawChange[]]
>('sync-pool-1.lua');

/** ARGV: from (exclusive), to (inclusive), epoch ms. */
export const listEndingScript = defineScript<[fromMs: number, toMs: number], [Code] | [Code, RawGrant[]]>('list-ending-1.lua');

/** ARGV: member, reporter, window ms. */
export const recordFailureScript = defineScript<[member: string, reporter: string, windowMs: number], [Code] | [Code, number]>('record-failure-1.lua');

export const leaseScripts = [
  grantScript,
  heartbeatScript,
  releaseScript,
  getScript,
  listByOwnerScript,
  bulkRenewScript,
  reapScript,
  snapshotScript,
  syncPoolScript,
  listEndingScript,
  recordFailureScript,
  checkInScript,
  claimScript,
  leaveScript,
  ticketScript,
].map((s) => s.script);
