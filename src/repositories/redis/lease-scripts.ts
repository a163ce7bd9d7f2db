import { defineScript } from './script-loader';
import type { RawExpired, RawGrant } from './script-codes';

/*
 * One typed caller per Lua script (lua/<operation>-<keys>.lua; each file's header
 * names its KEYS and ARGV). Every caller takes (redis, poolBase, now | null, ...ARGV[2..]).
 */

type Code = number;

/** ARGV: owner, agency, clientId, newGrantId, idempotencyKey ('' none), reapBatch, idempotency TTL ms, memo Redis TTL ms. */
export const grantScript = defineScript<
  [owner: string, agency: string, clientId: string, newGrantId: string, idempotencyKey: string, reapBatch: number, idemTtlMs: number, idemPx: number],
  [Code] | [Code, RawGrant | number, RawExpired[]]
>('grant-1.lua');

type LeaseReply = [Code] | [Code, RawGrant];

export const heartbeatScript = defineScript<[grantId: string, owner: string], LeaseReply>('heartbeat-1.lua');

export const releaseScript = defineScript<[grantId: string, owner: string], LeaseReply>('release-1.lua');

export const getScript = defineScript<[grantId: string, owner: string], LeaseReply>('get-1.lua');

export const listByOwnerScript = defineScript<[owner: string], RawGrant[]>('list-by-owner-1.lua');

/** ARGV: member, grace ms, number of ended ids, ...ended, ...active. */
export const bulkRenewScript = defineScript<
  [member: string, graceMs: number, endedCount: number, ...ids: string[]],
  [Code] | [Code, number, number, number, string[]]
>('bulk-renew-1.lua');

export const reapScript = defineScript<[limit: number], RawExpired[]>('reap-1.lua');

export const snapshotScript = defineScript<
  [],
  [Code] | [Code, number, string, number, number, number, number[], number[]]
>('snapshot-1.lua');

/** ARGV: expected revision, config file's spec JSON ('' keep), overrides JSON ('' keep), effective spec JSON, ...audit field/value pairs. */
export const syncPoolScript = defineScript<
  [expectedRevision: number, baseJson: string, overridesJson: string, effectiveJson: string, ...audit: string[]],
  [Code, number]
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
].map((s) => s.script);
