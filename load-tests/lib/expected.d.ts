export interface PoolShape {
  licenceLimit?: number | null;
  members: { id: string; state?: string; maxSessions: number }[];
  agencies: { id: string; guaranteed: number; maximum: number }[];
  headroom?: { rank: number; slots: number }[];
}
export function headroomAbove(pool: Pick<PoolShape, 'headroom'>, rank?: number): number;
export function poolCapacity(pool: Pick<PoolShape, 'licenceLimit' | 'members'>, without?: string[]): number;
export function expectedHeld(pool: PoolShape, demandByAgency: Record<string, number>, without?: string[], rank?: number): number;
export function renewalsPerSecond(held: number, intervalSeconds: number): number;
export function vusForRate(ratePerSecond: number, secondsPerIteration: number, headroom?: number): number;
export function keepAliveVUsFor(sessions: number, renewIntervalSeconds: number, p95Ms: number): number;
export function renewalIntervalProblem(intervalSeconds: number, leaseTtlSeconds: number): string | null;
export function expectedHeldByClass(
  pool: PoolShape,
  demandByAgency: Record<string, number>,
  priority: { rank: number; count: number }[],
  without?: string[],
): number;
