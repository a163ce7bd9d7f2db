import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { hasRole, type Principal } from '../auth/principal';
import { BULK_RENEWAL_MAX_IDS, GRANT_ID, type Grant, type MemberLease } from '../domain/grant';

export const POOL_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/*
 * The hot routes (grant, heartbeat, release, bulk renewal, a member's grants, check-in) are validated and serialised by
 * Fastify from the JSON schemas below (compiled once by ajv and fast-json-stringify), not by
 * class-validator. The classes carry the same shapes for the OpenAPI document;
 * test/dtos/route-schemas.test.ts checks that the two agree.
 */

export class CreateGrantDto {
  @ApiProperty({ example: 'vpn-statenet', description: 'Pool to get a session in', pattern: POOL_ID.source })
  pool!: string;

  @ApiPropertyOptional({
    example: 'laptop',
    description: 'Device or client label. Asking again from the same client while the grant is live returns that grant (reconnect).',
    pattern: CLIENT_ID.source,
  })
  clientId?: string;

  @ApiPropertyOptional({
    example: true,
    description: 'When the pool is full (or the agency at its maximum, …), wait in line instead of being refused: 202 with a waiting ticket',
  })
  wait?: boolean;
}

export const createGrantBodySchema = {
  type: 'object',
  properties: {
    pool: { type: 'string', pattern: POOL_ID.source },
    clientId: { type: 'string', pattern: CLIENT_ID.source },
    wait: { type: 'boolean' },
  },
  required: ['pool'],
  additionalProperties: false,
} as const;

export class BulkRenewalDto {
  @ApiProperty({ type: [String], maxItems: BULK_RENEWAL_MAX_IDS, description: 'Grant ids of sessions this member still carries: renewed.' })
  active!: string[];

  @ApiPropertyOptional({ type: [String], maxItems: BULK_RENEWAL_MAX_IDS, description: 'Grant ids of sessions that ended: released.' })
  ended?: string[];
}

const grantIds = { type: 'array', maxItems: BULK_RENEWAL_MAX_IDS, items: { type: 'string', pattern: GRANT_ID.source } } as const;
export const bulkRenewalBodySchema = {
  type: 'object',
  properties: { active: grantIds, ended: grantIds },
  required: ['active'],
  additionalProperties: false,
} as const;

export class GrantView {
  @ApiProperty({ example: 'vpn-statenet.Q2hhbmdlTWVQ' }) id!: string;
  @ApiProperty({ example: 'vpn-statenet' }) pool!: string;
  @ApiProperty({ example: 'gw-07', description: 'Gateway or session host to connect to' }) member!: string;
  @ApiPropertyOptional({ example: 'vpn-gw-07.dc-south.statenet.example' }) memberHost?: string;
  @ApiProperty({ example: 'justice' }) agency!: string;
  @ApiProperty({ example: 'default' }) clientId!: string;
  @ApiProperty({ example: 4711, description: 'Strictly increasing per pool' }) fencingToken!: number;
  @ApiProperty({ example: '2026-11-21T07:00:00.000Z' }) createdAt!: string;
  @ApiProperty({ example: '2026-11-21T07:02:00.000Z', description: 'Renew with a heartbeat before this' }) expiresAt!: string;
  @ApiProperty({ example: 120 }) ttlSeconds!: number;
  @ApiProperty({ enum: ['active'] }) status!: 'active';
  @ApiPropertyOptional({ description: 'Pseudonymised employee (operators only)' }) owner?: string;
}

export const grantViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    pool: { type: 'string' },
    member: { type: 'string' },
    memberHost: { type: 'string' },
    agency: { type: 'string' },
    clientId: { type: 'string' },
    fencingToken: { type: 'number' },
    createdAt: { type: 'string' },
    expiresAt: { type: 'string' },
    ttlSeconds: { type: 'number' },
    status: { type: 'string' },
    owner: { type: 'string' },
  },
  required: ['id', 'pool', 'member', 'agency', 'clientId', 'fencingToken', 'createdAt', 'expiresAt', 'ttlSeconds', 'status'],
} as const;

export class BulkRenewalResultView {
  @ApiProperty() renewed!: number;
  @ApiProperty() released!: number;
  @ApiProperty() expired!: number;
  @ApiProperty({ type: [String] }) unknown!: string[];
}

export const bulkRenewalResultSchema = {
  type: 'object',
  properties: {
    renewed: { type: 'number' },
    released: { type: 'number' },
    expired: { type: 'number' },
    unknown: { type: 'array', items: { type: 'string' } },
  },
  required: ['renewed', 'released', 'expired', 'unknown'],
} as const;

export class MemberGrantView {
  @ApiProperty({ example: 'vpn-statenet.Q2hhbmdlTWVQ' }) id!: string;
  @ApiProperty({ example: 1_795_762_920_000, description: 'Epoch milliseconds, store time: the lease ends then unless renewed' }) expiresAt!: number;
}

export class MemberGrantsView {
  @ApiProperty({ example: 'vpn-statenet' }) pool!: string;
  @ApiProperty({ example: 'gw-07' }) member!: string;
  @ApiProperty({ description: 'Live grants on this member' }) count!: number;
  @ApiProperty({ type: [MemberGrantView], description: 'Soonest expiry first; ids and expiry only, never who holds a grant' }) grants!: MemberGrantView[];
}

/** Serialises exactly these fields: nothing else of a lease can leave through this route. */
export const memberGrantViewSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, expiresAt: { type: 'number' } },
  required: ['id', 'expiresAt'],
} as const;

export const memberGrantsViewSchema = {
  type: 'object',
  properties: {
    pool: { type: 'string' },
    member: { type: 'string' },
    count: { type: 'number' },
    grants: { type: 'array', items: memberGrantViewSchema },
  },
  required: ['pool', 'member', 'count', 'grants'],
} as const;

/** A member's live leases as its gateway agent is answered. */
export function memberGrantsView(pool: string, member: string, leases: readonly MemberLease[]): MemberGrantsView {
  return { pool, member, count: leases.length, grants: leases.map((l) => ({ id: l.id, expiresAt: l.expiresAt })) };
}

export class ProblemView {
  @ApiProperty({ example: 'urn:telework-broker:problem:pool-full' }) type!: string;
  @ApiProperty({ example: 'The pool is full' }) title!: string;
  @ApiProperty({ example: 503 }) status!: number;
  @ApiProperty() detail!: string;
  @ApiProperty({ example: 'pool-full', description: 'Stable error code; see docs/errors.md' }) code!: string;
  @ApiPropertyOptional() instance?: string;
  @ApiPropertyOptional() retryAfterSeconds?: number;
  @ApiPropertyOptional({ type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } })
  errors?: { path: string; message: string }[];
}

/** A grant as the API shows it: the owner (a pseudonym) only to operators. */
export function grantView(g: Grant, who: Principal, hostOf: (pool: string, member: string) => string | undefined): GrantView {
  const host = hostOf(g.pool, g.member);
  return {
    id: g.id,
    pool: g.pool,
    member: g.member,
    ...(host !== undefined ? { memberHost: host } : {}),
    agency: g.agency,
    clientId: g.clientId,
    fencingToken: g.fencingToken,
    createdAt: new Date(g.createdAt).toISOString(),
    expiresAt: new Date(g.expiresAt).toISOString(),
    ttlSeconds: Math.round(g.ttlMs / 1000),
    status: 'active',
    ...(hasRole(who, 'operator') ? { owner: g.owner } : {}),
  };
}
