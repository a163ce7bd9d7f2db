import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class OfferView {
  @ApiProperty({ example: 'gw-07', description: 'Gateway or session host whose slot is held for you' }) member!: string;
  @ApiPropertyOptional({ example: 'vpn-gw-07.dc-south.statenet.example' }) memberHost?: string;
  @ApiProperty({ example: '2026-11-21T07:00:30.000Z', description: 'Claim before this, or the slot passes to the next in line' }) until!: string;
}

export class WaitTicketView {
  @ApiProperty({ example: 'vpn-statenet.Q2hhbmdlTWVQ', description: 'Ticket id; claiming the offer creates the grant of this id' }) id!: string;
  @ApiProperty({ example: 'vpn-statenet' }) pool!: string;
  @ApiProperty({ enum: ['waiting', 'offered'] }) state!: 'waiting' | 'offered';
  @ApiProperty({ example: 42, description: '1 for the head of the line; 0 once offered' }) position!: number;
  @ApiProperty({ nullable: true, type: Number, example: 95, description: 'From the recent pace of the line; null while unknown' }) estimatedWaitSeconds!: number | null;
  @ApiProperty({ example: '2026-11-21T07:00:30.000Z', description: 'Check in before this or drop out (waiting); end of the claim window (offered)' }) checkInBy!: string;
  @ApiProperty({ example: 'pool-full', description: 'Why you wait: the capacity rule that applied, or admission-rate' }) reason!: string;
  @ApiProperty({ example: 'standard' }) priorityClass!: string;
  @ApiProperty({ example: '2026-11-21T06:58:00.000Z' }) joinedAt!: string;
  @ApiProperty({ example: 'default' }) clientId!: string;
  @ApiProperty({ type: OfferView, nullable: true }) offer!: OfferView | null;
}

const offerViewSchema = {
  type: ['object', 'null'],
  properties: { member: { type: 'string' }, memberHost: { type: 'string' }, until: { type: 'string' } },
  required: ['member', 'until'],
} as const;

/** WaitTicketView for Fastify's serialiser (see the note in grant.dto.ts). */
export const waitTicketViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    pool: { type: 'string' },
    state: { type: 'string' },
    position: { type: 'number' },
    estimatedWaitSeconds: { type: ['number', 'null'] },
    checkInBy: { type: 'string' },
    reason: { type: 'string' },
    priorityClass: { type: 'string' },
    joinedAt: { type: 'string' },
    clientId: { type: 'string' },
    offer: offerViewSchema,
  },
  required: ['id', 'pool', 'state', 'position', 'estimatedWaitSeconds', 'checkInBy', 'reason', 'priorityClass', 'joinedAt', 'clientId', 'offer'],
} as const;
