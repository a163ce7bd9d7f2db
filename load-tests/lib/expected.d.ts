export interface PoolShape {
  licenceLimit?: number | null;
  members: { id: string; state?: string; maxSessions: number }[];
  agencies: { id: string; guaranteed: number; maximum: number }[];
}
export function poolCapacity(pool: Pick<PoolShape, 'licenceLimit' | 'members'>, without?: string[]): number;
export function expectedHeld(pool: PoolShape, demandByAgency: Record<string, number>, without?: string[]): number;
export function renewalsPerSecond(held: number, intervalSeconds: number): number;
export function vusForRate(ratePerSecond: number, secondsPerIteration: number, headroom?: number): number;
export function renewalIntervalProblem(intervalSeconds: number, leaseTtlSeconds: number): string | null;
