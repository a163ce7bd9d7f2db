type Env = Record<string, string | undefined>;
interface Limits {
  min?: number;
  max?: number;
}
export function parseDuration(text: string | number): number;
export function k6Duration(seconds: number): string;
export function stringFrom(env: Env, name: string, fallback: string): string;
export function intFrom(env: Env, name: string, fallback: number, limits?: Limits): number;
export function numberFrom(env: Env, name: string, fallback: number, limits?: Limits): number;
export function durationFrom(env: Env, name: string, fallback: number | string, limits?: Limits): number;
export function boolFrom(env: Env, name: string, fallback: boolean): boolean;
export function choiceFrom<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[]): T;
export interface CommonSettings {
  baseUrl: string;
  pool: string;
  tokensFile: string;
  clientId: string;
  preAllocatedVUs: number;
  maxVUs: number;
  p95Ms: number;
  p99Ms: number;
  maxErrorRate: number;
  maxDropped: number;
  setupRate: number;
}
export function commonSettings(env: Env): CommonSettings;
