import { Injectable, OnModuleInit } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { grantView } from '../controllers/views';
import type { Grant } from '../domain/grant';
import type { GrantView } from '../dtos/grant.dto';
import { ConfigRepository } from '../repositories/config.repository';
import { GrantService } from './grant.service';
import { LiveUpdatesService } from './live-updates.service';

export const GRANTS_TOPIC = 'grants';

/**
 * Feeds the owner-scoped `grants` topic: an employee's page gets their live
 * grants when it subscribes, and `grants.grant` / `grants.ended` whenever a
 * service reports a change through `changed()` / `ended()` — on whichever
 * replica the employee's page is connected to.
 */
@Injectable()
export class GrantsFeedService implements OnModuleInit {
  private readonly hosts: Map<string, string>;

  constructor(
    private readonly live: LiveUpdatesService,
    private readonly grants: GrantService,
    config: ConfigRepository,
  ) {
    this.hosts = new Map(config.get().broker.pools.flatMap((p) => p.members.filter((m) => m.host).map((m) => [`${p.id}/${m.id}`, m.host!] as const)));
  }

  onModuleInit(): void {
    this.live.defineTopic({
      name: GRANTS_TOPIC,
      scope: 'owner',
      initial: async (who) => [{ event: 'list', data: (await this.grants.listMine(who)).map((g) => this.view(g, who)) }],
    });
  }

  /** A grant of `g.owner` was created, reconnected or renewed. */
  changed(g: Grant): Promise<void> {
    return this.live.publishToOwner(GRANTS_TOPIC, g.owner, 'grant', this.view(g, null));
  }

  /** A grant of `g.owner` ended: `reason` released (by its owner or an operator) or expired. */
  ended(g: Pick<Grant, 'id' | 'pool' | 'member' | 'owner'>, reason: 'released' | 'expired'): Promise<void> {
    return this.live.publishToOwner(GRANTS_TOPIC, g.owner, 'ended', { id: g.id, pool: g.pool, member: g.member, reason });
  }

  private view(g: Grant, who: Principal | null): GrantView {
    // Built as the owner sees it (no owner field), whoever caused the change.
    const asOwner: Principal = who ?? { owner: g.owner, agency: g.agency, roles: new Set(['employee']), members: null };
    return grantView(g, asOwner, (p, m) => this.hosts.get(`${p}/${m}`));
  }
}
