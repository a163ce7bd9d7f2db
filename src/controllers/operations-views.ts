import type { BreakerView, MemberDetailView, OverridesView } from '../dtos/operator.dto';
import type { MemberDetail, OverridesSummary } from '../services/operator.service';

const iso = (ms: number): string => new Date(ms).toISOString();

export function memberDetailView(m: MemberDetail): MemberDetailView {
  const breaker: BreakerView | null = m.breaker
    ? { phase: m.breaker.phase, since: iso(m.breaker.since), until: m.breaker.until === null ? null : iso(m.breaker.until), trips: m.breaker.trips }
    : null;
  return {
    pool: m.pool,
    id: m.id,
    ...(m.host !== undefined ? { host: m.host } : {}),
    state: m.state,
    ...(m.stateReason !== undefined ? { stateReason: m.stateReason } : {}),
    ...(m.stateBy !== undefined ? { stateBy: m.stateBy } : {}),
    ...(m.stateSince !== undefined ? { stateSince: iso(m.stateSince) } : {}),
    maxSessions: m.maxSessions,
    active: m.active,
    configured: m.configured,
    breaker,
  };
}

export function overridesView(s: OverridesSummary): OverridesView {
  return {
    pool: s.pool,
    revision: s.revision,
    overrides: s.overrides as Record<string, unknown>,
    effective: s.effective as unknown as Record<string, unknown>,
    configured: s.configured as unknown as Record<string, unknown>,
  };
}
