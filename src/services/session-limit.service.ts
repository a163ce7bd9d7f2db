import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ClockRepository } from '../repositories/clock.repository';
import { ConfigRepository } from '../repositories/config.repository';
import { CronRepository } from '../repositories/cron.repository';
import { LEASE_STORE, type LeasePort, type PoolLayerPort, type JobClaimPort } from '../repositories/lease-store';
import { GRANTS_TOPIC } from './grants-feed.service';
import { LiveUpdatesService } from './live-updates.service';

const MINUTE = 60_000;

/** What the owner's page receives as `grants.ending`. */
export interface SessionEndingView {
  id: string;
  pool: string;
  member: string;
  /** When the session reaches its pool's maximum duration and is no longer renewed. */
  endsAt: string;
  minutesLeft: number;
}

/**
 * Warns employees before a session reaches its pool's maximum duration
 * (docs/admission.md, "Maximum session duration"): once a minute, the leases
 * ending in (endWarningMinutes − 1, endWarningMinutes] minutes from now are pushed
 * as `grants.ending` to their owner's live page (the own-grants topic). Every
 * replica runs the job; the minute is claimed in the store, so each warning
 * goes out once. Consecutive minutes tile time, so every session is warned
 * once while some replica runs.
 */
@Injectable()
export class SessionLimitService implements OnApplicationBootstrap {
  private readonly log = new Logger(SessionLimitService.name);
  private readonly leadMs: number;
  private readonly pools: string[];

  constructor(
    @Inject(LEASE_STORE) private readonly store: LeasePort & PoolLayerPort & JobClaimPort,
    private readonly live: LiveUpdatesService,
    private readonly cron: CronRepository,
    private readonly clock: ClockRepository,
    config: ConfigRepository,
  ) {
    const broker = config.get().broker;
    this.leadMs = broker.leases.endWarningMinutes * MINUTE;
    // A maximum may also be set at runtime or by a plan, so the job looks at every pool.
    this.pools = broker.pools.map((p) => p.id);
  }

  onApplicationBootstrap(): void {
    this.cron.schedule('session-end-warnings', '0 * * * * *', 'UTC', (at) => this.warn(at.getTime()).then(() => undefined));
  }

  /** Sends the warnings of the minute containing `at` (default: now) if no replica has; returns how many. */
  async warn(at?: number): Promise<number> {
    const minute = Math.floor((at ?? this.clock.now()) / MINUTE) * MINUTE;
    if (!(await this.store.claimJob(`session-end-warnings:${minute}`, 10 * MINUTE))) return 0;
    let sent = 0;
    for (const pool of this.pools) {
      try {
        const ending = await this.store.sessionsEnding(pool, minute + this.leadMs - MINUTE, minute + this.leadMs);
        const spec = ending.length ? await this.store.getPoolSpec(pool) : null;
        for (const g of ending) {
          const endsAt = g.createdAt + (spec?.maxSessionMs ?? 0);
          const view: SessionEndingView = { id: g.id, pool, member: g.member, endsAt: new Date(endsAt).toISOString(), minutesLeft: Math.ceil((endsAt - minute) / MINUTE) };
          await this.live.publishToOwner(GRANTS_TOPIC, g.owner, 'ending', view);
          sent++;
        }
      } catch (e) {
        this.log.warn(`session-end warnings of pool ${pool} failed: ${(e as Error).message}`);
      }
    }
    if (sent > 0) this.log.debug(`session-end warnings for ${new Date(minute).toISOString()}: ${sent}`);
    return sent;
  }
}
