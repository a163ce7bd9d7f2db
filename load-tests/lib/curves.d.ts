export interface Shape {
  name: string;
  /** Wall-clock time of the first weight, "HH:MM". */
  start: string;
  stepMinutes: number;
  weights: number[];
}
export interface Stage {
  durationSeconds: number;
  target: number;
}
export interface RampingPlan {
  startRate: number;
  timeUnitSeconds: number;
  timeUnit: string;
  stages: Stage[];
  durationSeconds: number;
  total: number;
  peakPerSecond: number;
  iterations: number;
  compression?: number;
}
export const MORNING_LOGON: Shape;
export const EVENING_RELEASE: Shape;
export function shapeMinutes(shape: Shape): number;
export function cumulativeShare(shape: Shape, fraction: number): number;
export function arrivedBy(shape: Shape, total: number, elapsedSeconds: number, durationSeconds: number): number;
export function plannedIterations(plan: Pick<RampingPlan, 'startRate' | 'stages' | 'timeUnitSeconds'>): number;
export function arrivalPlan(shape: Shape, options: { total: number; durationSeconds: number; timeUnitSeconds?: number }): RampingPlan;
export function renewalPlan(
  shape: Shape,
  options: { total: number; durationSeconds: number; intervalSeconds: number; holdSeconds?: number; margin?: number; timeUnitSeconds?: number },
): RampingPlan;
export function clockAt(shape: Shape, fraction: number): string;
export function k6RampingFields(plan: RampingPlan): { startRate: number; timeUnit: string; stages: { duration: string; target: number }[] };
