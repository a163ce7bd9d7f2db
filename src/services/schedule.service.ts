import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  overridesAtEnd,
  overridesAtStart,
  scheduleAuthor,
  stepInForce,
  stepName,
  type ScheduledStep,
  type ScheduledWindow,
} from '../domain/schedule';
import { BrokerError } from '../errors/error-codes';
import { ClockRepository } from '../repositories/clock.repository';
import { windowsFromConfig } from '../config/schedule-windows';
import { ConfigRepository } from '../repositories/config.repository';
import { CronRepository } from '../repositories/cron.repository';
import { LEASE_STORE, type AuditPort, type JobClaimPort } from '../repositories/lease-store';
import { MetricsRepository, type CounterMetric } from '../repositories/metrics.repository';
import { RuntimeChangesService } from './runtime-changes.service';

/** A replica that claimed a step and died has it retried by another after this. */
export const STEP_CLAIM_MS = 60_000;
/** A step done is remembered this long: longer than any window's week, so it is never applied twice. */
export const STEP_DONE_MS = 9 * 24 * 3600 * 1000;

export type StepOutcome = 'applied' | 'unchanged' | 'skipped' | 'not-claimed';

/**
 * Capacity plans and maintenance windows (docs/operations.md, "Schedules").
 *
 * Every replica schedules each window's start and end with node-cron, plus a
 * check every minute and one at start-up. Each of them works out the step in
 * force now (the later of the window's last start and last end) and applies
 * it once across all replicas: it claims the occurrence in the store first
 * (SET NX with a TTL), applies it as one compare-and-set change with its
 * audit record, then marks it done. So a step due while the broker was down
 * is applied at start-up, a step runs once however many replicas there are,
 * and a replica dying mid-step leaves it to the next check of another.
 */
@Injectable()
export class ScheduleService implements OnApplicationBootstrap {
  private readonly log = new Logger(ScheduleService.name);
  readonly windows: ScheduledWindow[];
  private readonly timezone: string;
  private readonly steps: CounterMetric<'pool' | 'window' | 'phase' | 'outcome'>;

  constructor(
    @Inject(LEASE_STORE) private readonly store: AuditPort & JobClaimPort,
    private readonly changes: RuntimeChangesService,
    private readonly cron: CronRepository,
    private readonly clock: ClockRepository,
    config: ConfigRepository,
    metrics: MetricsRepository,
  ) {
    this.windows = windowsFromConfig(config.get().broker.schedules);
    this.timezone = config.get().broker.schedules.timezone;
    this.steps = metrics.counter(
      'broker_schedule_steps_total',
      'Scheduled steps (start or end of a capacity plan or maintenance window) this replica applied, found unchanged or skipped.',
      ['pool', 'window', 'phase', 'outcome'],
    );
  }

  onApplicationBootstrap(): void {
    if (this.windows.length === 0) return;
    for (const w of this.windows) {
      this.cron.schedule(`schedule:${w.id}:start`, w.startCron, w.timezone, (at) => this.reconcile(at.getTime()).then(() => undefined));
      this.cron.schedule(`schedule:${w.id}:end`, w.endCron, w.timezone, (at) => this.reconcile(at.getTime()).then(() => undefined));
    }
    this.cron.schedule('schedule:check', '0 * * * * *', this.timezone, () => this.reconcile().then(() => undefined));
    // Catch up: whatever should be in force now, applied once (not awaited: start-up does not wait for Redis).
    void this.reconcile().catch((e: Error) => this.log.warn(`schedules not caught up at start-up: ${e.message}`));
  }

  /** Applies the step in force at `at` (default: now) of every window; returns each window's outcome. */
  async reconcile(at?: number): Promise<Record<string, StepOutcome>> {
    const now = Math.max(at ?? 0, this.clock.now());
    const out: Record<string, StepOutcome> = {};
    for (const w of this.windows) {
      try {
        out[w.id] = await this.apply(stepInForce(w, now));
      } catch (e) {
        this.log.warn(`schedule ${w.id}: step not applied: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** Applies one occurrence of a step, if no replica has (claim, change, mark done). */
  async apply(step: ScheduledStep): Promise<StepOutcome> {
    const name = stepName(step);
    if (!(await this.store.claimJob(name, STEP_CLAIM_MS))) return 'not-claimed';
    const w = step.window;
    const detail = { window: w.id, kind: w.kind, at: new Date(step.at).toISOString() };
    let outcome: StepOutcome;
    try {
      const result = await this.changes.change(w.pool, (layers, now) => {
        const overrides = step.phase === 'start' ? overridesAtStart(layers.overrides, w, now) : overridesAtEnd(layers.overrides, w);
        if (JSON.stringify(overrides) === JSON.stringify(layers.overrides)) return null;
        return { overrides, audit: { ev: 'operator', by: scheduleAuthor(w.id), act: `schedule-${step.phase}`, d: JSON.stringify(detail) } };
      });
      outcome = result.changed ? 'applied' : 'unchanged';
    } catch (e) {
      if (!(e instanceof BrokerError) || e.code !== 'capacity-rule-violated') throw e; // store trouble: the claim lapses, another check retries
      outcome = 'skipped';
      this.log.error(`schedule ${w.id}: ${step.phase} skipped, it would break a capacity rule: ${e.detail}`);
      await this.store.appendAudit(w.pool, { ev: 'operator', by: scheduleAuthor(w.id), act: `schedule-${step.phase}-skipped`, d: JSON.stringify({ ...detail, problem: e.detail }) });
    }
    await this.store.completeJob(name, STEP_DONE_MS);
    this.steps.inc({ pool: w.pool, window: w.id, phase: step.phase, outcome });
    if (outcome === 'applied') this.log.log(`schedule ${w.id}: ${step.phase} applied to pool ${w.pool} (due ${detail.at})`);
    return outcome;
  }
}
