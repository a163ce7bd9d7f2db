import { Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal } from '../auth/principal.decorator';
import type { Principal } from '../auth/principal';
import { GrantView } from '../dtos/grant.dto';
import { WaitTicketView, waitTicketViewSchema } from '../dtos/waiting.dto';
import { ConfigRepository } from '../repositories/config.repository';
import { WaitingRoomService } from '../services/waiting-room.service';
import { ApiProblems } from './problem-responses';
import { grantView } from '../dtos/grant.dto';

/** The waiting room: join with POST /v1/grants {"wait": true}; then check in here until offered, and claim. */
@ApiTags('waiting room')
@ApiBearerAuth()
@Controller('v1/waiting')
export class WaitingController {

  constructor(
    private readonly waiting: WaitingRoomService,
    private readonly config: ConfigRepository,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Your places in line, in every pool' })
  @ApiResponse({ status: 200, type: [WaitTicketView] })
  @ApiProblems()
  async mine(@CurrentPrincipal() who: Principal): Promise<WaitTicketView[]> {
    return (await this.waiting.mine(who)).map((t) => this.waiting.view(t));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read your place in line (does not count as a check-in)' })
  @ApiResponse({ status: 200, type: WaitTicketView })
  @ApiProblems(400, 404, 410)
  async get(@CurrentPrincipal() who: Principal, @Param('id') id: string): Promise<WaitTicketView> {
    return this.waiting.view(await this.waiting.get(who, id));
  }

  @Post(':id/check-in')
  @HttpCode(200)
  @RouteSchema({ response: { 200: waitTicketViewSchema } })
  @ApiOperation({ summary: 'Check in: keeps your place until checkInBy; answers your position, estimated wait and any offer' })
  @ApiResponse({ status: 200, type: WaitTicketView })
  @ApiProblems(400, 404, 410)
  async checkIn(@CurrentPrincipal() who: Principal, @Param('id') id: string): Promise<WaitTicketView> {
    return this.waiting.view(await this.waiting.checkIn(who, id));
  }

  @Post(':id/claim')
  @HttpCode(201)
  @ApiOperation({ summary: 'Claim the slot offered to you: the grant (same id as the ticket)' })
  @ApiResponse({ status: 201, type: GrantView })
  @ApiProblems(400, 404, 409, 410)
  async claim(@CurrentPrincipal() who: Principal, @Param('id') id: string): Promise<GrantView> {
    return grantView(await this.waiting.claim(who, id), who, this.config.memberHost);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Leave the line, or decline the offer (the slot goes to the next)' })
  @ApiResponse({ status: 204, description: 'Left' })
  @ApiProblems(400, 404, 410)
  async leave(@CurrentPrincipal() who: Principal, @Param('id') id: string): Promise<void> {
    await this.waiting.leave(who, id);
  }
}
