import { Controller, Get, Query, StreamableFile } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '../auth/principal';
import { Roles } from '../auth/route-metadata';
import { AuditQueryDto } from '../dtos/audit.dto';
import { AuditService } from '../services/audit.service';
import { ApiProblems } from './problem-responses';

const DAY = 24 * 3600 * 1000;

@ApiTags('operations')
@ApiBearerAuth()
@Roles('operator')
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({
    summary: 'Export the audit trail by time range, pool, agency and event',
    description: 'Every grant, refusal, release, expiry, waiting-room step and operator action; employees appear only as pseudonyms. Streamed as JSON lines (default) or CSV. Reading the trail is itself audited.',
  })
  @ApiProduces('application/x-ndjson', 'text/csv')
  @ApiResponse({ status: 200, description: 'One record per line (JSON lines) or row (CSV with a header), oldest first' })
  @ApiProblems(400, 403, 404)
  async export(@CurrentPrincipal() who: Principal, @Query() q: AuditQueryDto): Promise<StreamableFile> {
    const toMs = q.to !== undefined ? Date.parse(q.to) : Date.now();
    const fromMs = q.from !== undefined ? Date.parse(q.from) : toMs - DAY;
    const format = q.format ?? 'jsonl';
    const stream = await this.audit.export(who, {
      fromMs,
      toMs,
      pool: q.pool ?? null,
      ...(q.agency !== undefined ? { agency: q.agency } : {}),
      ...(q.event !== undefined ? { event: q.event } : {}),
      format,
    });
    const name = `audit-${new Date(fromMs).toISOString().replace(/[:.]/g, '')}-${new Date(toMs).toISOString().replace(/[:.]/g, '')}.${format}`;
    return new StreamableFile(stream, {
      type: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      disposition: `attachment; filename="${name}"`,
    });
  }
}
