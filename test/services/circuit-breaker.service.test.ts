import type { Principal } from '../../src/auth/principal';
import type { Role } from '../../src/auth/token-minter';
import { CircuitBreakerService } from '../../src/services/circuit-breaker.service';
import { harness, operatorRecords, type Harness } from './operations-harness';

const T0 = 1_700_000_000_000;
const who = (owner: string, ...roles: Role[]): Principal => ({ owner, agency: 'alpha', roles: new Set(roles.length ? roles : ['employee']), members: new Set(roles.includes('gateway-agent') ? ['vpn-a/gw-1', 'vpn-a/gw-2'] : []) });

describe.each(['memory', 'redis'] as const)('circuit breaker (%s store, injected clock)', (kind) => {
  let h: Harness;
  let cb: CircuitBreakerService;
  const make = (r: Pick<Harness, 'changes' | 'events' | 'cron' | 'metrics'> = h) => new CircuitBreakerService(h.store, r.changes, r.events, r.cron, h.config, r.metrics);

  beforeEach(async () => {
    // Threshold 2 in 60 s, open 300 s, probation 120 s, mass loss >= 3 and >= half (test/fixtures/operations.yaml).
    h = await harness(kind, T0);
    cb = make();
    cb.onApplicationBootstrap();
  });
  afterEach(async () => {
    cb.beforeApplicationShutdown();
    await h.close();
  });

  const member = async (id = 'gw-1') => (await h.store.getPoolSpec('vpn-a'))!.members.find((m) => m.id === id)!;
  const breaker = async (id = 'gw-1') => (await h.store.getPoolLayers('vpn-a'))!.overrides.breakers?.[id];
  const agent = (n: number) => who(`agent-${n}`, 'gateway-agent');

  it("reports every member's transitions from the start, at 0 (a dashboard and increase() see the first trip)", async () => {
    const text = await h.metrics.render();
    for (const m of ['gw-1', 'gw-2']) for (const to of ['open', 'half-open', 'closed']) {
      expect(text).toContain(`broker_member_breaker_transitions_total{pool="vpn-a",member="${m}",to="${to}"} 0`);
    }
  });

  it('trips on the threshold of distinct reporters within the window, once, and says so', async () => {
    expect(await cb.report(agent(1), 'vpn-a', 'gw-1')).toEqual({ pool: 'vpn-a', member: 'gw-1', failures: 1, threshold: 2, tripped: false });
    expect((await cb.report(agent(1), 'vpn-a', 'gw-1')).failures).toBe(1);
    h.storeNow.at += 61_000; // agent-1's report has left the window
    expect((await cb.report(agent(2), 'vpn-a', 'gw-1')).tripped).toBe(false);
    expect(await cb.report(agent(3), 'vpn-a', 'gw-1')).toMatchObject({ failures: 2, tripped: true });
    expect(await member()).toMatchObject({ state: 'out-of-service', stateBy: 'circuit-breaker', stateReason: 'circuit breaker: 2 failure report(s) within 60 s', stateSince: T0 + 61_000 });
    expect(await breaker()).toEqual({ phase: 'open', since: T0 + 61_000, until: T0 + 61_000 + 300_000, trips: 1 });
    // More reports of a member already out change nothing.
    expect((await cb.report(agent(4), 'vpn-a', 'gw-1')).tripped).toBe(false);
    expect((await cb.report(agent(5), 'vpn-a', 'gw-1')).tripped).toBe(false);
    const recs = (await operatorRecords(h.store, 'vpn-a')).filter((r) => r.by === 'circuit-breaker');
    expect(recs.map((r) => [r.act, r.m])).toEqual([['breaker-open', 'gw-1']]);
    expect(await h.metrics.render()).toMatch(/broker_member_breaker_transitions_total\{pool="vpn-a",member="gw-1",to="open"\} 1/);
  });

  it('leaves a member alone that an operator has drained', async () => {
    const l = (await h.store.getPoolLayers('vpn-a'))!;
    await h.store.setPoolOverrides('vpn-a', { members: { 'gw-1': { state: 'drain', stateBy: 'operator' } } }, l.revision);
    await cb.report(agent(1), 'vpn-a', 'gw-1');
    expect((await cb.report(agent(2), 'vpn-a', 'gw-1')).tripped).toBe(false);
    expect(await member()).toMatchObject({ state: 'drain', stateBy: 'operator' });
  });

  it('open → half-open after openSeconds; one failure on probation trips it again for twice as long; quiet probation closes it', async () => {
    await cb.report(agent(1), 'vpn-a', 'gw-1');
    await cb.report(agent(2), 'vpn-a', 'gw-1');
    h.storeNow.at = T0 + 299_999;
    await cb.tick();
    expect((await member()).state).toBe('out-of-service');
    h.storeNow.at = T0 + 300_000;
    await cb.tick();
    expect(await member()).toMatchObject({ state: 'active', stateBy: 'circuit-breaker' });
    expect(await breaker()).toEqual({ phase: 'half-open', since: T0 + 300_000, until: T0 + 420_000, trips: 1 });
    // One report on probation is enough.
    expect(await cb.report(agent(3), 'vpn-a', 'gw-1')).toMatchObject({ threshold: 1, tripped: true });
    expect(await breaker()).toEqual({ phase: 'open', since: T0 + 300_000, until: T0 + 300_000 + 600_000, trips: 2 });
    h.storeNow.at = T0 + 900_000;
    await cb.tick();
    h.storeNow.at = T0 + 900_000 + 120_000;
    await cb.tick();
    expect(await breaker()).toBeUndefined();
    expect(await member()).toEqual({ id: 'gw-1', host: 'gw-1.test', maxSessions: 3, state: 'active' });
    expect((await operatorRecords(h.store, 'vpn-a')).map((r) => r.act)).toEqual(['breaker-open', 'breaker-half-open', 'breaker-open', 'breaker-half-open', 'breaker-closed']);
  });

  it('trips at once on mass loss in an agent’s bulk renewal', async () => {
    h.events.emit('bulkRenewed', { pool: 'vpn-a', member: 'gw-2', renewed: 3, released: 0, expired: 2 }); // 2 < minimum 3
    h.events.emit('bulkRenewed', { pool: 'vpn-a', member: 'gw-2', renewed: 4, released: 0, expired: 3 }); // 3 of 7 < half
    await new Promise((r) => setTimeout(r, 30));
    expect((await member('gw-2')).state).toBe('active');
    h.events.emit('bulkRenewed', { pool: 'vpn-a', member: 'gw-2', renewed: 1, released: 0, expired: 3 });
    for (let i = 0; i < 100 && (await member('gw-2')).state === 'active'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await member('gw-2')).toMatchObject({ state: 'out-of-service', stateReason: 'circuit breaker: mass loss, 3 of 4 sessions gone in one agent report' });
  });

  it('lets go when someone else sets the state', async () => {
    await cb.report(agent(1), 'vpn-a', 'gw-1');
    await cb.report(agent(2), 'vpn-a', 'gw-1');
    const l = (await h.store.getPoolLayers('vpn-a'))!;
    await h.store.setPoolOverrides('vpn-a', { ...l.overrides, members: { 'gw-1': { state: 'drain', stateBy: 'schedule:patch' } } }, l.revision);
    await cb.tick();
    expect(await breaker()).toBeUndefined();
    expect((await member()).state).toBe('drain');
  });

  it('two replicas seeing the threshold at once take the member out once', async () => {
    const other = make(h.replica());
    await cb.report(agent(1), 'vpn-a', 'gw-1');
    const both = await Promise.all([cb.report(agent(2), 'vpn-a', 'gw-1'), other.report(agent(3), 'vpn-a', 'gw-1')]);
    expect(both.filter((r) => r.tripped)).toHaveLength(1);
    expect((await operatorRecords(h.store, 'vpn-a')).filter((r) => r.act === 'breaker-open')).toHaveLength(1);
  });

  it('employees report only for a member they hold a live grant on', async () => {
    const g = await h.store.grant({ pool: 'vpn-a', owner: 'emp-1', agency: 'alpha', clientId: 'c', newGrantId: 'vpn-a.AAAAAAAAAAAAAAAA' });
    if (!g.ok || g.value.outcome !== 'created') throw new Error('no grant');
    const onMember = g.value.grant.member;
    const elsewhere = onMember === 'gw-1' ? 'gw-2' : 'gw-1';
    await expect(cb.report(who('emp-1'), 'vpn-a', onMember)).rejects.toMatchObject({ code: 'validation-failed' });
    await expect(cb.report(who('emp-2'), 'vpn-a', onMember, g.value.grant.id)).rejects.toMatchObject({ code: 'grant-not-found' });
    await expect(cb.report(who('emp-1'), 'vpn-a', elsewhere, g.value.grant.id)).rejects.toMatchObject({ code: 'forbidden' });
    expect((await cb.report(who('emp-1'), 'vpn-a', onMember, g.value.grant.id)).failures).toBe(1);
  });
});
