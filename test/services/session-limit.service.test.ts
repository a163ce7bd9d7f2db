import type { Grant } from '../../src/domain/grant';
import { PubSubRepository } from '../../src/repositories/pubsub.repository';
import { GRANTS_TOPIC } from '../../src/services/grants-feed.service';
import { LiveUpdatesService } from '../../src/services/live-updates.service';
import { SessionLimitService } from '../../src/services/session-limit.service';
import { harness, type Harness } from './operations-harness';

const T0 = Date.UTC(2026, 10, 23, 8, 0, 0);
const MIN = 60_000;

/** Captures what would go to owners' live pages. */
class CapturingLive extends LiveUpdatesService {
  readonly sent: { topic: string; owner: string; event: string; data: unknown }[] = [];
  override publishToOwner(topic: string, owner: string, event: string, data: unknown): Promise<void> {
    this.sent.push({ topic, owner, event, data });
    return Promise.resolve();
  }
}

describe.each(['memory', 'redis'] as const)('end-of-session warnings (%s store)', (kind) => {
  let h: Harness;
  let live: CapturingLive;
  const warner = (r: Pick<Harness, 'cron' | 'clock'> = h) => new SessionLimitService(h.store, live, r.cron, r.clock, h.config);

  beforeEach(async () => {
    // vdi-b: maxSessionMinutes 480; leases of a day here, so they run to that end; warnings 10 minutes before it.
    h = await harness(kind, T0, (b) => (b.pools.find((p) => p.id === 'vdi-b')!.leaseTtlSeconds = 86_400));
    live = new CapturingLive(new PubSubRepository(h.config));
  });
  afterEach(async () => {
    await h.close();
  });

  async function create(owner: string, agency: string): Promise<Grant> {
    const r = await h.store.grant({ pool: 'vdi-b', owner, agency, clientId: 'c', newGrantId: `vdi-b.${owner.padEnd(16, 'x')}` });
    if (!r.ok || r.value.outcome !== 'created') throw new Error('not created');
    return r.value.grant;
  }

  it('warns each owner once, at the minute when at most 10 minutes are left, minute after minute', async () => {
    const a = await create('owner-a', 'alpha');
    h.storeNow.at = T0 + 30_000;
    const b = await create('owner-b', 'gamma');
    const w = warner();
    w.onApplicationBootstrap();
    expect([...h.cron.jobs.keys()]).toEqual(['session-end-warnings']);
    expect(a.expiresAt).toBe(T0 + 480 * MIN); // the maximum, not the TTL
    const end = T0 + 480 * MIN;
    for (let m = end - 20 * MIN; m <= end; m += MIN) {
      h.storeNow.at = m;
      await h.cron.fire('session-end-warnings', m);
    }
    expect(live.sent).toEqual([
      { topic: GRANTS_TOPIC, owner: 'owner-a', event: 'ending', data: { id: a.id, pool: 'vdi-b', member: a.member, endsAt: new Date(end).toISOString(), minutesLeft: 10 } },
      { topic: GRANTS_TOPIC, owner: 'owner-b', event: 'ending', data: { id: b.id, pool: 'vdi-b', member: b.member, endsAt: new Date(end + 30_000).toISOString(), minutesLeft: 10 } },
    ]);
  });

  it('a minute is warned by one replica only', async () => {
    await create('owner-a', 'alpha');
    const minute = T0 + 470 * MIN;
    h.storeNow.at = minute;
    const replicas = [warner(), warner(h.replica()), warner(h.replica())];
    const sent = await Promise.all(replicas.map((r) => r.warn(minute)));
    expect(sent.sort()).toEqual([0, 0, 1]);
    expect(live.sent).toHaveLength(1);
  });

  it('warns nobody in a pool without a maximum, nor for a lease that has ended', async () => {
    const g = await create('owner-a', 'alpha');
    await h.store.release('vdi-b', g.id);
    expect(await warner().warn(T0 + 470 * MIN)).toBe(0);
    expect(live.sent).toEqual([]);
  });
});
