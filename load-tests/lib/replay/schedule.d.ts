export const REPLAY_FORMAT: 'telework-broker-replay-schedule/1';
export interface SchedulePool {
  id: string;
  capacity: number;
  tickSeconds: number;
  sessions: number;
  employees: number;
  predicted: { attempts: number; admitted: number; refused: number; gaveUp: number };
}
export interface Schedule {
  format: string;
  scenario: string;
  seed: number;
  variant: string;
  day: number;
  compress: number;
  pools: SchedulePool[];
  sessions: [number, number, number, number, number[]][];
}
export interface LaneSession {
  n: number;
  at: number;
  hold: number;
  pool: number;
  employee: number;
  retries: number[];
}
export function checkSchedule<S extends Schedule>(s: S): S;
export function employeeOffsets(pools: { employees: number }[]): number[];
export function splitLanes(schedule: Schedule, lanes: number): LaneSession[][];
export function lastEventSeconds(schedule: Schedule): number;
export function predicted(schedule: Schedule): { pool: string; capacity: number; attempts: number; refused: number; gaveUp: number }[];
