import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiBody, ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '../auth/principal';
import { CreateGrantDto, createGrantBodySchema, GrantView, grantViewSchema } from '../dtos/grant.dto';
import { ConfigRepository } from '../repositories/config.repository';
import { WaitTicketView, waitTicketViewSchema } from '../dtos/waiting.dto';
import { GrantService } from '../services/grant.service';
import { WaitingRoomService } from '../services/waiting-room.service';
import { ApiProblems } from './problem-responses';
import { grantView } from '../dtos/grant.dto';

@ApiTags('grants')
@ApiBearerAuth()
@Controller('v1/grants')
export class GrantsController {

  constructor(
    private readonly grants: GrantService,
    private readonly waiting: WaitingRoomService,
    private readonly config: ConfigRepository,
  ) {}

  private view = (who: Principal) => (g: Parameters<typeof grantView>[0]) => grantView(g, who, this.config.memberHost);

  @Post()
  @RouteSchema({ body: createGrantBodySchema, response: { 200: grantViewSchema, 201: grantViewSchema, 202: waitTicketViewSchema } })
  @ApiBody({ type: CreateGrantDto })
  @ApiOperation({ summary: 'Request a session (VPN tunnel or virtual desktop) in a pool' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'A retried request with the same key returns the first grant instead of a second one' })
  @ApiResponse({ status: 201, type: GrantView, description: 'Granted' })
  @ApiResponse({ status: 200, type: GrantView, description: 'You already hold a live grant from this client (reconnect), or an idempotent replay' })
  @ApiResponse({ status: 202, type: WaitTicketView, description: 'You wait in line (you asked to, or admissions are paced): check in at Location until offered, then claim' })
  @ApiProblems(400, 403, 404, 409, 413, 415, 429, 503)
  async create(
    @CurrentPrincipal() who: Principal,
    // Readonly<…> is not a class: Nest's ValidationPipe leaves the body to the route schema above.
    @Body() body: Readonly<CreateGrantDto>,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GrantView | WaitTicketView> {
    const result = await this.grants.request(who, body.pool, body.clientId, idempotencyKey, body.wait ?? false);
    if (result.outcome === 'queued') {
      void reply.status(202);
      void reply.header('Location', `/v1/waiting/${result.ticket.id}`);
      return this.waiting.view(result.ticket);
    }
    const { grant, outcome } = result;
    void reply.status(outcome === 'created' ? 201 : 200);
    if (outcome === 'replayed') void reply.header('Idempotent-Replayed', 'true');
    void reply.header('Location', `/v1/grants/${grant.id}`);
    return this.view(who)(grant);
  }

  @Get()
  @ApiOperation({ summary: 'Your live grants in every pool' })
  @ApiResponse({ status: 200, type: [GrantView] })
  @ApiProblems()
  async listMine(@CurrentPrincipal() who: Principal): Promise<GrantView[]> {
    return (await this.grants.listMine(who)).map(this.view(who));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a grant (yours; operators any; gateway agents those on their members)' })
  @ApiResponse({ status: 200, type: GrantView })
  @ApiProblems(400, 404, 410)
  async get(@CurrentPrincipal() who: Principal, @Param('id') id: string): Promise<GrantView> {
    return this.view(who)(await this.grants.get(who, id));
  }

  @Post(':id/heartbeat')
  @HttpCode(200)
  @RouteSchema({ response: { 200: grantViewSchema } })
  @ApiOperation({ summary: 'Renew your lease by its TTL from now' })
  @ApiResponse({ status: 200, type: GrantView })
  @ApiProblems(400, 404, 410)
  async heartbeat(@CurrentPrincipal() who: Principal, @Param('id') id: string): Promise<GrantView> {
    return this.view(who)(await this.grants.heartbeat(who, id));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'End the session and return its capacity (yours; operators any)' })
  @ApiResponse({ status: 204, description: 'Released' })
  @ApiProblems(400, 404, 410)
  async release(@CurrentPrincipal() who: Principal, @Param('id') id: string): Promise<void> {
    await this.grants.release(who, id);
  }
}
