import { Injectable, Logger, OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import type { Grant } from '../domain/grant';
import { grantView, type GrantView } from '../dtos/grant.dto';
import { ConfigRepository } from '../repositories/config.repository';
import { BrokerEvents } from './broker-events';
import { GrantService } from './grant.service';
import { LiveUpdatesService } from './live-updates.service';

export const GRANTS_TOPIC = 'grants';

/**
 * Feeds the owner-scoped `grants` topic: an employee's page gets their live
 * grants when it subscribes, then `grants.grant` when one is created or
 * reconnected and `grants.ended` when one is released or expires — wherever
 * that happened, on whichever replica the employee's page is connected to.
 * Heartbeats are not sent (the page knows the TTL; one message per renewal of
 * 60,000 sessions would flood every replica).
 */
@Injectable()
export class GrantsFeedService implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(GrantsFeedService.name);
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly live: LiveUpdatesService,
    private readonly grants: GrantService,
    private readonly events: BrokerEvents,
    private readonly config: ConfigRepository,
  ) {}

  onModuleInit(): void {
    this.live.defineTopic({
      name: GRANTS_TOPIC,
      scope: 'owner',
      initial: async (who) => [{ event: 'list', data: (await this.grants.listMine(who)).map((g) => this.view(g, who)) }],
    });
  }

  onApplicationBootstrap(): void {
    const report = (p: Promise<void>) => p.catch((e: Error) => this.log.warn(`grant change not published: ${e.message}`));
    this.unsubscribe.push(
      this.events.on('granted', (e) => {
        if (e.outcome !== 'replayed') void report(this.changed(e.grant));
      }),
      this.events.on('released', (e) => void report(this.ended(e.grant, 'released'))),
      this.events.on('expired', (e) => void report(this.ended({ id: e.id, pool: e.pool, member: e.member, owner: e.owner }, 'expired'))),
    );
  }

  beforeApplicationShutdown(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** A grant of `g.owner` was created, reconnected or renewed. */
  changed(g: Grant): Promise<void> {
    if (!this.live.watched(g.owner)) return Promise.resolve();
    return this.live.publishToOwner(GRANTS_TOPIC, g.owner, 'grant', this.view(g, null));
  }

  /** A grant of `g.owner` ended: `reason` released (by its owner or an operator) or expired. */
  ended(g: Pick<Grant, 'id' | 'pool' | 'member' | 'owner'>, reason: 'released' | 'expired'): Promise<void> {
    return this.live.publishToOwner(GRANTS_TOPIC, g.owner, 'ended', { id: g.id, pool: g.pool, member: g.member, reason });
  }

  private view(g: Grant, who: Principal | null): GrantView {
    // Built as the owner sees it (no owner field), whoever caused the change.
    const asOwner: Principal = who ?? { owner: g.owner, agency: g.agency, roles: new Set(['employee']), members: new Set() };
    return grantView(g, asOwner, this.config.memberHost);
  }
}
