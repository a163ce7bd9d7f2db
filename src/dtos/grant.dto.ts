import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { hasRole, type Principal } from '../auth/principal';
import { GRANT_ID, type Grant } from '../domain/grant';

export const POOL_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

export class CreateGrantDto {
  @ApiProperty({ example: 'vpn-statenet', description: 'Pool to get a session in' })
  @IsString()
  @Matches(POOL_ID, { message: 'pool must be a pool id (lower-case letters, digits, dashes)' })
  pool!: string;

  @ApiPropertyOptional({
    example: 'laptop',
    description: 'Device or client label. Asking again from the same client while the grant is live returns that grant (reconnect).',
  })
  @IsOptional()
  @IsString()
  @Matches(CLIENT_ID, { message: 'clientId must be 1–64 letters, digits, ".", "_" or "-"' })
  clientId?: string;

  @ApiPropertyOptional({
    example: true,
    description: 'When the pool is full (or the agency at its maximum, …), wait in line instead of being refused: 202 with a waiting ticket',
  })
  @IsOptional()
  @IsBoolean()
  wait?: boolean;
}

export class BulkRenewalDto {
  @ApiProperty({ type: [String], description: 'Grant ids of sessions this member still carries: renewed.' })
  @IsArray()
  @ArrayMaxSize(20_000)
  @IsString({ each: true })
  @Matches(GRANT_ID, { each: true, message: 'each entry of active must be a grant id' })
  active!: string[];

  @ApiPropertyOptional({ type: [String], description: 'Grant ids of sessions that ended: released.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(20_000)
  @IsString({ each: true })
  @Matches(GRANT_ID, { each: true, message: 'each entry of ended must be a grant id' })
  ended?: string[];
}

export class GrantView {
  @ApiProperty({ example: 'vpn-statenet.Q2hhbmdlTWVQbGVh' }) id!: string;
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

export class BulkRenewalResultView {
  @ApiProperty() renewed!: number;
  @ApiProperty() released!: number;
  @ApiProperty() expired!: number;
  @ApiProperty({ type: [String] }) unknown!: string[];
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
