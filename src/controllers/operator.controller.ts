import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '../auth/principal';
import { Roles } from '../auth/route-metadata';
import { FailureReportDto, FailureReportView, MemberDetailView, MemberStateDto, OverridesView, PoolPatchDto, ResetOverridesDto } from '../dtos/operator.dto';
import { IdPipe } from '../dtos/id.pipe';
import { BrokerError } from '../errors/error-codes';
import { CircuitBreakerService } from '../services/circuit-breaker.service';
import { OperatorService } from '../services/operator.service';
import { ApiProblems } from './problem-responses';
import { memberDetailView, overridesView } from '../dtos/operator.dto';

/** Operators: member states (drain, out of service, back), runtime changes of capacities and limits; failure reports. */
@ApiTags('operations')
@ApiBearerAuth()
@Roles('operator')
@Controller('v1/pools')
export class OperatorController {
  constructor(
    private readonly operator: OperatorService,
    private readonly breaker: CircuitBreakerService,
  ) {}

  @Get(':pool/members/:member')
  @ApiOperation({ summary: 'One member: state and why, capacity, sessions still on it, circuit breaker' })
  @ApiResponse({ status: 200, type: MemberDetailView })
  @ApiProblems(400, 403, 404)
  async member(@Param('pool', IdPipe) pool: string, @Param('member', IdPipe) member: string): Promise<MemberDetailView> {
    return memberDetailView(await this.operator.member(pool, member));
  }

  @Put(':pool/members/:member/state')
  @ApiOperation({
    summary: 'Drain a member, take it out of service, or bring it back',
    description: 'No session is ended: in drain and out of service the running sessions continue (reconnects too) until they end; no new ones start. Active also resets the circuit breaker.',
  })
  @ApiResponse({ status: 200, type: MemberDetailView })
  @ApiProblems(400, 403, 404, 409)
  async setState(
    @CurrentPrincipal() who: Principal,
    @Param('pool', IdPipe) pool: string,
    @Param('member', IdPipe) member: string,
    @Body() body: MemberStateDto,
  ): Promise<MemberDetailView> {
    return memberDetailView(await this.operator.setMemberState(who, pool, member, body.state, body.reason));
  }

  @Patch(':pool')
  @ApiOperation({
    summary: 'Change limits, member capacities and agency shares at runtime',
    description: 'Stored, applied on every replica at once, kept across restarts. Checked like the config file (e.g. guaranteed shares within capacity). Lowering a capacity below what is in use ends no session; it only stops new grants until use falls below it.',
  })
  @ApiResponse({ status: 200, type: OverridesView })
  @ApiProblems(400, 403, 404, 409, 422)
  async patch(@CurrentPrincipal() who: Principal, @Param('pool', IdPipe) pool: string, @Body() body: PoolPatchDto): Promise<OverridesView> {
    const { reason, ...changes } = body;
    if (Object.values(changes).every((v) => v === undefined)) {
      throw new BrokerError('validation-failed', 'nothing to change: give licenceLimit, perEmployeeLimit, maxSessionMinutes, members or agencies', {
        errors: [{ path: '/', message: 'nothing to change' }],
      });
    }
    return overridesView(await this.operator.patchPool(who, pool, { ...changes, ...(reason !== undefined ? { reason } : {}) }));
  }

  @Get(':pool/overrides')
  @ApiOperation({ summary: "The pool's runtime changes, its effective definition and the config file's" })
  @ApiResponse({ status: 200, type: OverridesView })
  @ApiProblems(400, 403, 404)
  async overrides(@Param('pool', IdPipe) pool: string): Promise<OverridesView> {
    return overridesView(await this.operator.overrides(pool));
  }

  @Delete(':pool/overrides')
  @ApiOperation({ summary: "Drop every runtime change of the pool: the config file's definition applies again" })
  @ApiResponse({ status: 200, type: OverridesView })
  @ApiProblems(400, 403, 404, 409)
  async reset(@CurrentPrincipal() who: Principal, @Param('pool', IdPipe) pool: string, @Body() body?: ResetOverridesDto): Promise<OverridesView> {
    return overridesView(await this.operator.resetOverrides(who, pool, body?.reason));
  }

  @Post(':pool/members/:member/failures')
  @HttpCode(200)
  @Roles('employee', 'gateway-agent', 'operator')
  @ApiOperation({
    summary: 'Report that a member failed (circuit breaker)',
    description: 'Employees report for a member they hold a grant on (grantId), gateway agents for their members. Enough distinct reporters within the window take the member out of service.',
  })
  @ApiResponse({ status: 200, type: FailureReportView })
  @ApiProblems(400, 403, 404)
  async reportFailure(
    @CurrentPrincipal() who: Principal,
    @Param('pool', IdPipe) pool: string,
    @Param('member', IdPipe) member: string,
    @Body() body: FailureReportDto,
  ): Promise<FailureReportView> {
    return this.breaker.report(who, pool, member, body.grantId);
  }
}
