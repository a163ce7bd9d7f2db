import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  Min,
  ValidateNested,
  ValidatorConstraint,
  Validate,
  type ValidatorConstraintInterface,
  type ValidationArguments,
} from 'class-validator';
import { GRANT_ID } from '../domain/grant';
import type { MemberDetail, OverridesSummary } from '../services/operator.service';
import { POOL_ID } from './grant.dto';

export const MEMBER_STATES = ['active', 'drain', 'out-of-service'] as const;

export class MemberStateDto {
  @ApiProperty({ enum: MEMBER_STATES, description: 'drain: no new sessions, running ones continue; out-of-service: likewise, the member is down; active: back in service' })
  @IsIn(MEMBER_STATES, { message: `state must be one of ${MEMBER_STATES.join(', ')}` })
  state!: (typeof MEMBER_STATES)[number];

  @ApiPropertyOptional({ example: 'firmware update, ticket CHG-4711', description: 'Shown in pool reads and written to the audit trail' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  reason?: string;
}

export class MemberCapacityDto {
  @ApiProperty({ example: 'gw-03' })
  @IsString()
  @Matches(POOL_ID, { message: 'id must be a member id' })
  id!: string;

  @ApiProperty({ example: 4000 })
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxSessions!: number;
}

/** At least one of the listed properties is present. */
@ValidatorConstraint({ name: 'someOf' })
class SomeOf implements ValidatorConstraintInterface {
  validate(_: unknown, args: ValidationArguments): boolean {
    const o = args.object as Record<string, unknown>;
    return (args.constraints as string[]).some((k) => o[k] !== undefined);
  }
  defaultMessage(args: ValidationArguments): string {
    return `give at least one of: ${(args.constraints as string[]).join(', ')}`;
  }
}

/** No two entries of the array share an id. */
@ValidatorConstraint({ name: 'uniqueIds' })
class UniqueIds implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (!Array.isArray(value)) return true;
    const ids = value.map((v: { id?: unknown }) => v?.id);
    return new Set(ids).size === ids.length;
  }
  defaultMessage(): string {
    return 'each id at most once';
  }
}

export class AgencyShareDto {
  @ApiProperty({ example: 'justice' })
  @IsString()
  @Matches(POOL_ID, { message: 'id must be an agency id' })
  @Validate(SomeOf, ['guaranteed', 'maximum'])
  id!: string;

  @ApiPropertyOptional({ example: 6000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  guaranteed?: number;

  @ApiPropertyOptional({ example: 12000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maximum?: number;
}

export class PoolPatchDto {
  @ApiPropertyOptional({ nullable: true, type: Number, example: 2000, description: 'null removes the licence limit' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  licenceLimit?: number | null;

  @ApiPropertyOptional({ example: 2 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100)
  perEmployeeLimit?: number;

  @ApiPropertyOptional({ nullable: true, type: Number, example: 600, description: 'Maximum session duration; null removes it' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_080)
  maxSessionMinutes?: number | null;

  @ApiPropertyOptional({ type: [MemberCapacityDto] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @Validate(UniqueIds)
  @ValidateNested({ each: true })
  @Type(() => MemberCapacityDto)
  members?: MemberCapacityDto[];

  @ApiPropertyOptional({ type: [AgencyShareDto] })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @Validate(UniqueIds)
  @ValidateNested({ each: true })
  @Type(() => AgencyShareDto)
  agencies?: AgencyShareDto[];

  @ApiPropertyOptional({ example: 'exam week: more desktops for education', description: 'Written to the audit trail' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  reason?: string;
}

export class ResetOverridesDto {
  @ApiPropertyOptional({ description: 'Written to the audit trail' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  reason?: string;
}

export const FAILURE_KINDS = ['connect', 'session-lost', 'health-check'] as const;

export class FailureReportDto {
  @ApiPropertyOptional({ example: 'vpn-statenet.Q2hhbmdlTWVQ', description: 'Employees: the grant on this member they could not use (required)' })
  @IsOptional()
  @IsString()
  @Matches(GRANT_ID, { message: 'grantId must be a grant id' })
  grantId?: string;

  @ApiPropertyOptional({ enum: FAILURE_KINDS, default: 'connect' })
  @IsOptional()
  @IsIn(FAILURE_KINDS)
  kind?: (typeof FAILURE_KINDS)[number];
}

export class BreakerView {
  @ApiProperty({ enum: ['open', 'half-open'] }) phase!: string;
  @ApiProperty() since!: string;
  @ApiProperty({ nullable: true, type: String, description: 'When the phase ends; null: only an operator returns the member' }) until!: string | null;
  @ApiProperty() trips!: number;
}

export class MemberDetailView {
  @ApiProperty({ example: 'vpn-statenet' }) pool!: string;
  @ApiProperty({ example: 'gw-03' }) id!: string;
  @ApiPropertyOptional() host?: string;
  @ApiProperty({ enum: MEMBER_STATES }) state!: string;
  @ApiPropertyOptional({ example: 'firmware update' }) stateReason?: string;
  @ApiPropertyOptional({ example: 'operator', description: "'operator', 'circuit-breaker' or 'schedule:<id>'" }) stateBy?: string;
  @ApiPropertyOptional() stateSince?: string;
  @ApiProperty() maxSessions!: number;
  @ApiProperty({ description: 'Sessions still on the member (they continue in drain and out of service until they end)' }) active!: number;
  @ApiProperty({ description: 'State and maxSessions as the config file has them' }) configured!: { state: string; maxSessions: number };
  @ApiProperty({ type: BreakerView, nullable: true }) breaker!: BreakerView | null;
}

export class OverridesView {
  @ApiProperty() pool!: string;
  @ApiProperty({ description: 'Changes with every write of the definition' }) revision!: number;
  @ApiProperty({ description: 'Runtime changes layered over the config file', type: 'object', additionalProperties: true }) overrides!: Record<string, unknown>;
  @ApiProperty({ description: 'What every admission reads now', type: 'object', additionalProperties: true }) effective!: Record<string, unknown>;
  @ApiProperty({ description: "The config file's definition", type: 'object', additionalProperties: true }) configured!: Record<string, unknown>;
}

export class FailureReportView {
  @ApiProperty() pool!: string;
  @ApiProperty() member!: string;
  @ApiProperty({ description: 'Distinct reporters within the window, this one included' }) failures!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Reports that take the member out; null: no circuit breaker configured' }) threshold!: number | null;
  @ApiProperty({ description: 'This report took the member out of service' }) tripped!: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function memberDetailView(m: MemberDetail): MemberDetailView {
  const breaker: BreakerView | null = m.breaker
    ? { phase: m.breaker.phase, since: iso(m.breaker.since), until: m.breaker.until === null ? null : iso(m.breaker.until), trips: m.breaker.trips }
    : null;
  return {
    pool: m.pool,
    id: m.id,
    ...(m.host !== undefined ? { host: m.host } : {}),
    state: m.state,
    ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
    ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
    ...(m.stateSince !== undefined ? { stateSince: iso(m.stateSince) } : {}),
    maxSessions: m.maxSessions,
    active: m.active,
    configured: m.configured,
    breaker,
  };
}

export function overridesView(s: OverridesSummary): OverridesView {
  return {
    pool: s.pool,
    revision: s.revision,
    overrides: s.overrides as Record<string, unknown>,
    effective: s.effective as unknown as Record<string, unknown>,
    configured: s.configured as unknown as Record<string, unknown>,
  };
}
