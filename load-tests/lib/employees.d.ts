export interface Share {
  id: string;
  guaranteed: number;
  maximum: number;
}
export function employeeSubject(i: number, prefix?: string): string;
export function apportion(n: number, weights: number[], caps?: number[]): number[];
export function allocateEmployees(total: number, shares: Share[]): { id: string; count: number }[];
export function interleaveAgencies(allocation: { id: string; count: number }[]): string[];
export function countByAgency(agencies: string[], n?: number): Record<string, number>;
