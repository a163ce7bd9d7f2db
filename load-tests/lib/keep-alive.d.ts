export type KeepAliveMode = 'clients' | 'gateways';
export const KEEPALIVE_MODES: readonly KeepAliveMode[];
export const AGENT_REQUESTS_PER_ROUND: number;
export function keepAliveLoad(
  mode: KeepAliveMode,
  sessions: number,
  members: number,
  intervalSeconds: number,
): { mode: KeepAliveMode; requestsPerSecond: number; idsPerRenewal: number };
export function gatewayThresholds(scenario: string, p95Ms: number, p99Ms: number): Record<string, string[]>;
export interface AgentState {
  seen: Iterable<string>;
  carried?: number;
}
export function agentRound(
  state: AgentState,
  listed: readonly string[],
  answer: { renewed?: number; expired?: number; unknown?: readonly string[] } | null,
): { lost: number; seen: Set<string>; carried: number };
