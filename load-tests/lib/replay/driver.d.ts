import type { LaneSession } from './schedule.js';
export interface PoolTally {
  attempts: number;
  admitted: number;
  reconnected: number;
  refused: Record<string, number>;
  queued: number;
  gaveUp: number;
  errors: number;
  released: number;
  heartbeats: number;
  lost: number;
}
export type AcquireResult = { kind: 'granted' | 'reconnected'; id: string } | { kind: 'refused'; code: string } | { kind: 'queued' } | { kind: 'error' };
export interface LaneOptions {
  tickSeconds: number[];
  compress: number;
  heartbeatSeconds: number;
  startMs: number;
}
export interface LaneIo {
  now(): number;
  sleep(seconds: number): void;
  acquire(pool: number, employee: number): AcquireResult;
  release(pool: number, employee: number, id: string): void;
  heartbeat(pool: number, employee: number, id: string): boolean;
  late?(ms: number): void;
}
export function emptyTally(pools: unknown[]): PoolTally[];
export function replayLane(sessions: LaneSession[], o: LaneOptions, io: LaneIo, tally?: PoolTally[]): PoolTally[];
