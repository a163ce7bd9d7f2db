import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, Matches } from 'class-validator';
import { auditEvents } from '../domain/audit';
import { POOL_ID } from './grant.dto';

export const AUDIT_FORMATS = ['jsonl', 'csv'] as const;

export class AuditQueryDto {
  @ApiPropertyOptional({ example: '2026-11-23T06:00:00Z', description: 'Start of the range (inclusive); default: 24 hours before `to`' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ example: '2026-11-23T10:00:00Z', description: 'End of the range (inclusive); default: now' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;

  @ApiPropertyOptional({ example: 'vpn-statenet', description: 'One pool; default: every pool' })
  @IsOptional()
  @IsString()
  @Matches(POOL_ID, { message: 'pool must be a pool id' })
  pool?: string;

  @ApiPropertyOptional({ example: 'justice' })
  @IsOptional()
  @IsString()
  @Matches(POOL_ID, { message: 'agency must be an agency id' })
  agency?: string;

  @ApiPropertyOptional({ enum: auditEvents })
  @IsOptional()
  @IsIn(auditEvents, { message: `event must be one of ${auditEvents.join(', ')}` })
  event?: (typeof auditEvents)[number];

  @ApiPropertyOptional({ enum: AUDIT_FORMATS, default: 'jsonl' })
  @IsOptional()
  @IsIn(AUDIT_FORMATS, { message: 'format must be jsonl or csv' })
  format?: (typeof AUDIT_FORMATS)[number];
}
