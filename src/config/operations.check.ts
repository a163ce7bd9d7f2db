import cron from 'node-cron';
import { z } from 'zod';
import { applyOverrides, configuredCapacityOf, poolSpecProblems } from '../domain/pool-overrides';
import { poolSpecsFromConfig } from './pool-specs';
import { overridesAtStart } from '../domain/schedule';
import { windowsFromConfig } from './schedule-windows';
import type { BrokerConfig } from './broker-config.schema';

/**
 * Checks of the operations sections against the pools and agencies of the
 * file: every plan and window names a pool and members or agencies of it,
 * ids are unique, and a capacity plan keeps the pool sound while in force
 * (the same rules as the file itself, e.g. guarantees within capacity, and
 * the guarantees within what the members left in service carry).
 */
export function checkOperations(cfg: BrokerConfig, ctx: z.RefinementCtx): void {
  const specs = new Map(poolSpecsFromConfig(cfg).map((s) => [s.id, s]));
  const seen = new Set<string>();
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
  const windows = windowsFromConfig(cfg.schedules);
  const entries = [
    ...cfg.schedules.capacityPlans.map((p, i) => ({ path: ['schedules', 'capacityPlans', i], from: p.from, to: p.to })),
    ...cfg.schedules.maintenanceWindows.map((w, i) => ({ path: ['schedules', 'maintenanceWindows', i], from: w.from, to: w.to })),
  ];
  windows.forEach((w, k) => {
    const { path, from, to } = entries[k]!;
    if (seen.has(w.id)) issue([...path, 'id'], `duplicate schedule id "${w.id}" (plans and windows share one namespace)`);
    seen.add(w.id);
    if (from === to) issue([...path, 'to'], 'must differ from from');
    const spec = specs.get(w.pool);
    if (!spec) return issue([...path, 'pool'], `unknown pool "${w.pool}"`);
    const members = new Set(spec.members.map((m) => m.id));
    const agencies = new Set(spec.agencies.map((a) => a.id));
    const memberPath = w.kind === 'capacity-plan' ? [...path, 'set', 'members'] : [...path, 'members'];
    for (const m of Object.keys(w.changes.members ?? {})) {
      if (!members.has(m)) issue(memberPath, `pool "${w.pool}" has no member "${m}"`);
    }
    for (const a of Object.keys(w.changes.agencies ?? {})) {
      if (!agencies.has(a)) issue([...path, 'set', 'agencies'], `agency "${a}" has no share of pool "${w.pool}"`);
    }
    const inForce = applyOverrides(spec, overridesAtStart({}, w, 0));
    for (const p of poolSpecProblems(inForce)) {
      issue(w.kind === 'capacity-plan' ? [...path, 'set'] : path, `while in force: ${p.path.slice(1)} ${p.message}`);
    }
    // An operator may drain below the guarantees for a while; a schedule that does it every time it
    // runs refuses nearly everyone then (rule 10: an agency whose own guarantee is below the
    // shortfall never gets in, not even into an empty pool), so it is a mistake in the file.
    const inService = configuredCapacityOf({ members: inForce.members.filter((m) => m.state === 'active'), licenceLimit: inForce.licenceLimit });
    const guaranteed = inForce.agencies.reduce((n, a) => n + a.guaranteed, 0);
    if (guaranteed > inService) {
      issue(
        memberPath,
        `while in force, the members in service carry ${inService} sessions, less than the ${guaranteed} guaranteed to the agencies: ` +
          'every agency whose own guarantee is below the difference would be refused (capacity-reserved) even in an empty pool; ' +
          (w.kind === 'capacity-plan' ? 'keep more members in service, or lower the guarantees under set.agencies' : 'take fewer members out at once'),
      );
    }
  });
  if (!cron.validate(cfg.audit.trimCron)) issue(['audit', 'trimCron'], 'must be a cron expression (5 or 6 fields)');
}
