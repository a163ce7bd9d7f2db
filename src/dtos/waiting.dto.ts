import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class OfferView {
  @ApiProperty({ example: 'gw-07', description: 'Gateway or session host whose slot is held for you' }) member!: string;
  @ApiPropertyOptional({ example: 'vpn-gw-07.dc-south.statenet.example' }) memberHost?: string;
  @ApiProperty({ example: '2026-11-21T07:00:30.000Z', description: 'Claim before this, or the slot passes to the next in line' }) until!: string;
}

export class WaitTicketView {
  @ApiProperty({ example: 'vpn-statenet.Q2hhbmdlTWVQbGVh', description: 'Ticket id; claiming the offer creates the grant of this id' }) id!: string;
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
