import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { PoolSnapshot } from '../domain/grant';

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

/** A pool snapshot as the API and the live pages show it. */
export function poolView(s: PoolSnapshot): PoolView {
  return {
    id: s.id,
    kind: s.kind,
    ...(s.name !== undefined ? { name: s.name } : {}),
    strategy: s.strategy,
    licenceLimit: s.licenceLimit,
    capacity: s.capacity,
    active: s.active,
    free: s.free,
    utilisation: s.capacity > 0 ? Math.round((s.active / s.capacity) * 10_000) / 10_000 : 0,
    perEmployeeLimit: s.perEmployeeLimit,
    leaseTtlSeconds: Math.round(s.leaseTtlMs / 1000),
    members: s.members.map((m) => ({
      id: m.id,
      ...(m.host !== undefined ? { host: m.host } : {}),
      state: m.state,
      maxSessions: m.maxSessions,
      active: m.active,
      ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
      ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
      ...(m.stateSince !== undefined ? { stateSince: new Date(m.stateSince).toISOString() } : {}),
    })),
    agencies: s.agencies.map((a) => ({ ...a })),
    waiting: s.waiting,
    offered: s.offered,
    headroom: s.headroom.map((h) => ({ ...h })),
    at: new Date(s.at).toISOString(),
  };
}
