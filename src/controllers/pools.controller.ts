import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '../auth/principal';
import { Roles } from '../auth/route-metadata';
import { BulkRenewalDto, bulkRenewalBodySchema, BulkRenewalResultView, bulkRenewalResultSchema, MemberGrantsView, memberGrantsView, memberGrantsViewSchema } from '../dtos/grant.dto';
import { PoolView } from '../dtos/pool.dto';
import { IdPipe } from '../dtos/id.pipe';
import { GrantService } from '../services/grant.service';
import { PoolService } from '../services/pool.service';
import { ApiProblems } from './problem-responses';
import { poolView } from '../dtos/pool.dto';

@ApiTags('pools')
@ApiBearerAuth()
@Controller('v1/pools')
export class PoolsController {
  constructor(
    private readonly pools: PoolService,
    private readonly grants: GrantService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every pool: capacity, active sessions, per member and per agency' })
  @ApiResponse({ status: 200, type: [PoolView] })
  @ApiProblems()
  async list(): Promise<PoolView[]> {
    return (await this.pools.snapshots()).map(poolView);
  }

  @Get(':pool')
  @ApiOperation({ summary: 'One pool: capacity, active sessions, per member and per agency' })
  @ApiResponse({ status: 200, type: PoolView })
  @ApiProblems(400, 404)
  async get(@Param('pool', IdPipe) pool: string): Promise<PoolView> {
    return poolView(await this.pools.snapshot(pool));
  }

  @Post(':pool/members/:member/renewals')
  @HttpCode(200)
  @Roles('gateway-agent')
  @RouteSchema({ body: bulkRenewalBodySchema, response: { 200: bulkRenewalResultSchema } })
  @ApiBody({ type: BulkRenewalDto })
  @ApiOperation({
    summary: 'Gateway / session-host agent: renew every lease this member still carries, report ended sessions',
    description: 'Leases of this member that are not reported (and older than the grace period) expire.',
  })
  @ApiResponse({ status: 200, type: BulkRenewalResultView })
  @ApiProblems(400, 403, 404, 413)
  async bulkRenew(
    @CurrentPrincipal() who: Principal,
    @Param('pool', IdPipe) pool: string,
    @Param('member', IdPipe) member: string,
    @Body() body: Readonly<BulkRenewalDto>, // validated by the route schema, not the ValidationPipe
  ): Promise<BulkRenewalResultView> {
    return this.grants.bulkRenew(who, pool, member, body.active, body.ended ?? []);
  }

  @Get(':pool/members/:member/grants')
  @Roles('gateway-agent', 'operator')
  @RouteSchema({ response: { 200: memberGrantsViewSchema } })
  @ApiOperation({
    summary: 'Gateway / session-host agent: the live grants on this member, ids and expiry only',
    description:
      'What the broker thinks this member carries: to reconcile with its tunnels after a restart, and to report them all in a bulk renewal. ' +
      'Never who holds a grant. The member’s own agent and operators only; a read (no audit record, nothing renewed).',
  })
  @ApiResponse({ status: 200, type: MemberGrantsView })
  @ApiProblems(400, 403, 404)
  async memberGrants(@CurrentPrincipal() who: Principal, @Param('pool', IdPipe) pool: string, @Param('member', IdPipe) member: string): Promise<MemberGrantsView> {
    return memberGrantsView(pool, member, await this.grants.listOnMember(who, pool, member));
  }
}
