import type { Broker } from './brokers';
import { command, sleep } from './processes';
import type { Rng } from './random';
import type { ClusterTopology, SentinelTopology, Topology } from './topology';

/** Every fault the suite injects, per topology. */
export const sentinelFaults = [
  'broker-kill',
  'broker-pause',
  'master-pause-short',
  'sentinel-failover',
  'master-pause-long',
  'master-partition',
  'master-kill',
  'master-restart-aof',
  'master-restart-empty',
] as const;
export const clusterFaults = ['broker-kill', 'broker-pause', 'cluster-failover', 'cluster-master-kill'] as const;
export type FaultKind = (typeof sentinelFaults)[number] | (typeof clusterFaults)[number];

/** Faults that move the master to another node. */
export const FAILOVERS: ReadonlySet<FaultKind> = new Set(['sentinel-failover', 'master-pause-long', 'master-partition', 'master-kill', 'cluster-failover', 'cluster-master-kill']);
/**
 * A master restarted empty without persistence: its replicas copy the empty data set, so
 * grants cannot survive it (documented as unprotected). Only fencing, unknown-pool after
 * recovery and the 5xx rule are asserted for it.
 */
export const UNPROTECTED: ReadonlySet<FaultKind> = new Set(['master-restart-empty']);

export interface FaultRecord {
  kind: FaultKind;
  /**
   * When the fault began (`master-partition`: once the cut took effect, after its set-up) and when
   * its action ended (a pause lifted, a node back, a partition healed), ms on the run's axis.
   */
  start: number;
  end: number;
  detail: string;
  /** Figures the fault read off the nodes (`master-partition`: the brokers' script calls on the cut-off master). */
  observed?: Record<string, number>;
}

export interface FaultContext {
  topology: Topology;
  brokers: Broker[];
  rng: Rng;
  now: () => number;
  /** Down-after of the sentinels (a short pause stays under it, a long one goes past it). */
  downAfterMs: number;
}

export async function inject(kind: FaultKind, ctx: FaultContext): Promise<FaultRecord> {
  let start = ctx.now();
  const done = await act(kind, ctx, () => (start = ctx.now()));
  return { kind, start, end: ctx.now(), ...(typeof done === 'string' ? { detail: done } : done) };
}

/** Does the fault; `tookEffect` moves its start to now (a fault whose set-up takes a while). */
async function act(kind: FaultKind, ctx: FaultContext, tookEffect: () => void): Promise<string | { detail: string; observed: Record<string, number> }> {
  const { rng } = ctx;
  switch (kind) {
    case 'broker-kill': {
      const b = rng.pick(ctx.brokers);
      await b.kill();
      const down = rng.int(500, 3_000);
      await sleep(down);
      b.start();
      await b.waitUntilReady();
      return `broker ${b.index} SIGKILLed, started again after ${down} ms`;
    }
    case 'broker-pause': {
      const b = rng.pick(ctx.brokers);
      const ms = rng.int(2_000, 8_000);
      b.signal('SIGSTOP');
      await sleep(ms);
      b.signal('SIGCONT');
      return `broker ${b.index} SIGSTOPped for ${ms} ms`;
    }
    case 'master-pause-short': {
      const t = sentinel(ctx);
      const m = await t.master();
      const ms = rng.int(400, ctx.downAfterMs - 700);
      m.signal('SIGSTOP');
      await sleep(ms);
      m.signal('SIGCONT');
      return `master ${m.port} SIGSTOPped for ${ms} ms (down-after ${ctx.downAfterMs})`;
    }
    case 'sentinel-failover': {
      const f = await sentinel(ctx).failover();
      return `SENTINEL FAILOVER ${f.from} → ${f.to}`;
    }
    case 'master-pause-long': {
      const t = sentinel(ctx);
      const m = await t.master();
      m.signal('SIGSTOP');
      const to = await t.waitForNewMaster(m.port, 30_000);
      const extra = rng.int(500, 3_000);
      await sleep(extra);
      m.signal('SIGCONT');
      return `master ${m.port} SIGSTOPped past down-after; ${to} promoted; old master resumed ${extra} ms later`;
    }
    case 'master-partition': {
      // The master keeps running and answering the brokers, but the Sentinels and the replicas can
      // no longer use it (SentinelTopology.cutOff); once another is promoted the partition is held a
      // while longer, healed, and the Sentinels demote the old master (waitUntilSettled after it).
      const t = sentinel(ctx);
      const m = await t.master();
      await t.cutOff(m);
      tookEffect();
      // What the old master did while cut off: the bytes of writes it took (the brokers' and its own
      // key expiries; no replica has them, so none may be confirmed) and the brokers' script calls,
      // until and after the promotion (after it: a broker not yet moved to the new master).
      const scripts = () => m.calls(['fcall', 'fcall_ro', 'evalsha', 'evalsha_ro', 'eval', 'eval_ro']);
      const [offset0, scripts0] = [await m.replicationOffset(), await scripts()];
      const cut = Date.now();
      const to = await t.waitForNewMaster(m.port, 30_000);
      const promoted = Date.now() - cut;
      const scripts1 = await scripts();
      const extra = rng.int(500, 3_000);
      await sleep(extra);
      const [offset2, scripts2] = [await m.replicationOffset(), await scripts()];
      await t.heal(m);
      return {
        detail:
          `master ${m.port} cut off from the sentinels and replicas, still running and reached by the brokers (ACL users of both revoked); ` +
          `${to} promoted after ${promoted} ms; healed ${extra} ms later; meanwhile the old master took ${offset2 - offset0} bytes of writes ` +
          `and ran ${scripts1 - scripts0} script calls of the brokers before the promotion, ${scripts2 - scripts1} after it`,
        observed: { scriptsBeforePromotion: scripts1 - scripts0, scriptsAfterPromotion: scripts2 - scripts1, bytesTaken: offset2 - offset0 },
      };
    }
    case 'master-kill': {
      const t = sentinel(ctx);
      const m = await t.master();
      await m.kill();
      const to = await t.waitForNewMaster(m.port, 30_000);
      await sleep(rng.int(500, 2_000));
      await m.start(); // comes back with what it had on disk, to be made a replica
      return `master ${m.port} SIGKILLed; ${to} promoted; old master started again (${m.options.persistence})`;
    }
    case 'master-restart-aof':
    case 'master-restart-empty': {
      const t = sentinel(ctx);
      const m = await t.master();
      const empty = kind === 'master-restart-empty';
      if (!empty && m.options.persistence === 'none') throw new Error('master-restart-aof needs a topology with AOF');
      await m.restart({ empty });
      return `master ${m.port} SIGKILLed and started at once ${empty ? 'empty (no persistence)' : `from its AOF (${m.options.persistence})`}`;
    }
    case 'cluster-failover': {
      const t = cluster(ctx);
      const pool = rng.pick(['vpn-f', 'vdi-l']);
      const master = await t.masterOfSlot(pool);
      const replica = await t.replicaOf(master);
      await command(replica, 'CLUSTER', 'FAILOVER');
      await waitForClusterMaster(replica, 30_000);
      return `CLUSTER FAILOVER on ${replica} (replica of ${master}, serving ${pool})`;
    }
    case 'cluster-master-kill': {
      const t = cluster(ctx);
      const pool = rng.pick(['vpn-f', 'vdi-l']);
      const master = await t.masterOfSlot(pool);
      const replica = await t.replicaOf(master);
      const node = t.node(master);
      await node.kill();
      await waitForClusterMaster(replica, 30_000);
      await sleep(rng.int(500, 2_000));
      await node.start(); // rejoins (nodes.conf kept) as a replica of the promoted node
      return `master ${master} (serving ${pool}) SIGKILLed; ${replica} promoted; old master started again`;
    }
  }
}

function sentinel(ctx: FaultContext): SentinelTopology {
  if (ctx.topology.kind !== 'sentinel') throw new Error('a Sentinel fault on a Cluster');
  return ctx.topology;
}

function cluster(ctx: FaultContext): ClusterTopology {
  if (ctx.topology.kind !== 'cluster') throw new Error('a Cluster fault on Sentinel');
  return ctx.topology;
}

async function waitForClusterMaster(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const role = (await command(port, 'ROLE')) as [string];
      if (role[0] === 'master' && String(await command(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) return;
    } catch {
      /* asking again */
    }
    await sleep(100);
  }
  throw new Error(`${port} was not promoted within ${timeoutMs} ms`);
}
