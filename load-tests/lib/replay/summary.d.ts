import type { PoolTally } from './driver.js';
import type { Schedule } from './schedule.js';
export const RESULT_FORMAT: 'telework-broker-replay-result/1';
export const REFUSAL_CODES: string[];
export function metricName(p: number, what: string): string;
export function counterNames(poolCount: number): string[];
export function recordTally(tally: PoolTally[], add: (name: string, n: number) => void): void;
export interface ReplayResultPool {
  id: string;
  capacity: number | null;
  attempts: number;
  admitted: number;
  reconnected: number;
  queued: number;
  refused: Record<string, number>;
  gaveUp: number;
  errors: number;
  released: number;
  heartbeats: number;
  lost: number;
}
export interface ReplayResult {
  format: string;
  schedule: { scenario: string; seed: number; variant: string; day: number };
  compress: number;
  lanes: number;
  baseUrl: string;
  latenessMs: { p95: number | null; max: number | null };
  pools: ReplayResultPool[];
}
export function buildResult(
  schedule: Schedule,
  run: { compress: number; lanes: number; baseUrl: string; capacities?: (number | null)[] },
  metrics: Record<string, { values?: Record<string, number> }>,
): ReplayResult;
