import { Injectable, Logger, BeforeApplicationShutdown } from '@nestjs/common';
import cron, { type ScheduledTask } from 'node-cron';

/** A job run at each occurrence; `scheduledAt` is the occurrence, not the (slightly later) moment it runs. */
export type CronJob = (scheduledAt: Date) => Promise<void>;

/**
 * node-cron behind a repository: services say what runs when; tests replace
 * this with a double that fires jobs on demand. Every replica schedules the
 * same jobs; the jobs themselves make sure each occurrence takes effect once
 * (they claim it in the store first).
 */
@Injectable()
export class CronRepository implements BeforeApplicationShutdown {
  private readonly log = new Logger(CronRepository.name);
  private readonly tasks = new Map<string, ScheduledTask>();
  private readonly running = new Set<Promise<void>>();

  /** Schedules `job` under a unique name; `expression` has 5 or 6 fields (seconds first), in `timezone`. */
  schedule(name: string, expression: string, timezone: string, job: CronJob): void {
    if (this.tasks.has(name)) throw new Error(`cron job "${name}" is scheduled twice`);
    const task = cron.schedule(
      expression,
      (ctx) => {
        const run = job(ctx.date).catch((e: Error) => this.log.error(`cron job ${name} failed: ${e.message}`));
        this.running.add(run);
        return run.finally(() => this.running.delete(run));
      },
      { name, timezone, noOverlap: true, logger: this.cronLogger() },
    );
    this.tasks.set(name, task);
  }

  /** Names of the scheduled jobs. */
  names(): string[] {
    return [...this.tasks.keys()];
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.destroy()));
    this.tasks.clear();
    await Promise.all(this.running);
  }

  private cronLogger() {
    return {
      info: (m: string) => this.log.debug(m),
      debug: (m: string | Error) => this.log.debug(String(m)),
      warn: (m: string) => this.log.warn(m),
      error: (m: string | Error) => this.log.error(String(m)),
    };
  }
}
