import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class MemberView {
  @ApiProperty({ example: 'gw-01' }) id!: string;
  @ApiPropertyOptional() host?: string;
  @ApiProperty({ enum: ['active', 'drain', 'out-of-service'] }) state!: string;
  @ApiProperty() maxSessions!: number;
  @ApiProperty() active!: number;
  @ApiPropertyOptional({ example: 'circuit breaker: 5 failure report(s) within 60 s', description: 'Why the state was set at runtime' }) stateReason?: string;
  @ApiPropertyOptional({ example: 'circuit-breaker', description: "Who set it: 'operator', 'circuit-breaker' or 'schedule:<id>'" }) stateBy?: string;
  @ApiPropertyOptional() stateSince?: string;
}

export class AgencyView {
  @ApiProperty({ example: 'justice' }) id!: string;
  @ApiProperty() guaranteed!: number;
  @ApiProperty() maximum!: number;
  @ApiProperty() active!: number;
}

export class HeadroomView {
  @ApiProperty({ example: 'crisis' }) class!: string;
  @ApiProperty({ example: 100 }) rank!: number;
  @ApiProperty({ example: 500, description: 'Slots only this class or a higher one may use' }) slots!: number;
  @ApiProperty({ example: 0 }) inUse!: number;
}

export class PoolView {
  @ApiProperty({ example: 'vpn-statenet' }) id!: string;
  @ApiProperty({ enum: ['vpn', 'vdi'] }) kind!: string;
  @ApiPropertyOptional() name?: string;
  @ApiProperty({ enum: ['breadth-first', 'depth-first'] }) strategy!: string;
  @ApiProperty({ nullable: true, type: Number }) licenceLimit!: number | null;
  @ApiProperty({ description: 'Sessions the members in service can hold, capped by the licence limit' }) capacity!: number;
  @ApiProperty({ description: 'Sessions held now (including on members in drain)' }) active!: number;
  @ApiProperty({ description: 'Slots a new grant could take now' }) free!: number;
  @ApiProperty() utilisation!: number;
  @ApiProperty() perEmployeeLimit!: number;
  @ApiProperty() leaseTtlSeconds!: number;
  @ApiProperty({ type: [MemberView] }) members!: MemberView[];
  @ApiProperty({ type: [AgencyView] }) agencies!: AgencyView[];
  @ApiProperty({ description: 'Employees waiting in line for this pool' }) waiting!: number;
  @ApiProperty({ description: 'Slots offered to waiters and not yet claimed (counted in active)' }) offered!: number;
  @ApiProperty({ type: [HeadroomView], description: 'Reserved headroom per priority class and how much of it is in use' }) headroom!: HeadroomView[];
  @ApiProperty() at!: string;
}
