import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { command, removeDir, RedisNode, SentinelNode, sleep, tempRoot, type AclUser, type Persistence } from './processes';

const run = promisify(execFile);

/** Where a topology puts its processes: redis ports from `redis`, sentinels from `sentinel`. */
export interface PortPlan {
  redis: number;
  sentinel: number;
}

export const MASTER_NAME = 'faultmaster';

/**
 * The users the Sentinels and the replicas have on every node, with the least the Redis docs say
 * each needs (Sentinel: "Redis Access Control List authentication"; replication: "Authentication").
 * The brokers and this harness stay on `default`. Taking these two away on the master cuts it off
 * from the Sentinels and the replicas while it keeps running and the brokers still reach it.
 */
export const SENTINEL_USER: AclUser = {
  name: 'fault-sentinel',
  password: 'fault-sentinel-pw',
  rules: ['allchannels', '+multi', '+slaveof', '+ping', '+exec', '+subscribe', '+config|rewrite', '+role', '+publish', '+info', '+client|setname', '+client|kill', '+script|kill'],
};
export const REPLICA_USER: AclUser = { name: 'fault-replica', password: 'fault-replica-pw', rules: ['+psync', '+replconf', '+ping'] };

/** 1 master + 1 or 2 replicas, watched by 3 sentinels with a short down-after. */
export class SentinelTopology {
  readonly kind = 'sentinel' as const;
  readonly root = tempRoot('sentinel');
  readonly nodes: RedisNode[];
  readonly sentinels: SentinelNode[];

  constructor(
    ports: PortPlan,
    readonly opts: { replicas: 1 | 2; persistence: Persistence; downAfterMs: number; failoverTimeoutMs: number },
  ) {
    const users = { users: [SENTINEL_USER, REPLICA_USER], masterUser: REPLICA_USER };
    this.nodes = Array.from({ length: 1 + opts.replicas }, (_, i) => new RedisNode({ port: ports.redis + i, persistence: opts.persistence, ...users, ...(i > 0 ? { replicaOf: ports.redis } : {}) }, this.root));
    this.sentinels = [0, 1, 2].map(
      (i) =>
        new SentinelNode(
          { port: ports.sentinel + i, masterName: MASTER_NAME, masterPort: ports.redis, downAfterMs: opts.downAfterMs, failoverTimeoutMs: opts.failoverTimeoutMs, authUser: SENTINEL_USER },
          this.root,
        ),
    );
  }

  brokerEnv(): Record<string, string> {
    return { REDIS_SENTINELS: this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','), REDIS_SENTINEL_MASTER: MASTER_NAME };
  }

  async start(): Promise<void> {
    for (const n of this.nodes) await n.start();
    for (const s of this.sentinels) await s.start();
    await this.waitUntilSettled(30_000);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.nodes].map((p) => p.kill()));
    removeDir(this.root);
  }

  /** The master as the sentinels name it (the majority answer). */
  async masterPort(): Promise<number | null> {
    const votes = new Map<number, number>();
    await Promise.all(
      this.sentinels.map(async (s) => {
        try {
          const addr = (await command(s.port, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME)) as [string, string] | null;
          if (addr) votes.set(Number(addr[1]), (votes.get(Number(addr[1])) ?? 0) + 1);
        } catch {
          /* a sentinel down */
        }
      }),
    );
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    return best && best[1] >= 2 ? best[0] : null;
  }

  node(port: number): RedisNode {
    return this.nodes.find((n) => n.port === port)!;
  }

  async master(): Promise<RedisNode> {
    const port = await this.masterPort();
    if (port === null) throw new Error('sentinels agree on no master');
    return this.node(port);
  }

  /**
   * Waits until the sentinels agree on a master that says it is one, every other node replicates
   * from it with the link up, and the sentinels know every replica.
   */
  async waitUntilSettled(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      try {
        const port = await this.masterPort();
        if (port !== null) {
          const role = String(await command(port, 'INFO', 'replication'));
          const replicas = this.nodes.filter((n) => n.port !== port);
          let ok = role.includes('role:master');
          for (const r of replicas) {
            const info = String(await command(r.port, 'INFO', 'replication'));
            ok &&= info.includes(`master_port:${port}`) && info.includes('master_link_status:up') && !info.includes('master_sync_in_progress:1');
          }
          const known = (await command(this.sentinels[0]!.port, 'SENTINEL', 'replicas', MASTER_NAME)) as unknown[];
          ok &&= known.length >= replicas.length;
          if (ok) return;
          last = `master ${port}`;
        }
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`sentinel topology did not settle in ${timeoutMs} ms (${last})`);
  }

  /** `SENTINEL FAILOVER`; resolves when the sentinels name another master. */
  async failover(timeoutMs = 20_000): Promise<{ from: number; to: number }> {
    const from = (await this.masterPort())!;
    await command(this.sentinels[0]!.port, 'SENTINEL', 'FAILOVER', MASTER_NAME);
    return { from, to: await this.waitForNewMaster(from, timeoutMs) };
  }

  /**
   * Cuts a node off from the Sentinels and the other nodes while it keeps running and the brokers
   * (user `default`) still reach it: the Sentinel and replica users may run nothing on it any more
   * and their connections are dropped. An emulation: the TCP path stays up and they get `-NOPERM`
   * at once rather than silence (docs/faults-campaign.md). Resolves once the node has no replica left.
   */
  async cutOff(node: RedisNode): Promise<void> {
    for (const user of [REPLICA_USER, SENTINEL_USER]) await node.revoke(user);
    // A replica in the middle of a transfer may be freed a moment after CLIENT KILL answers.
    for (let i = 0; ; i++) {
      const info = String(await command(node.port, 'INFO', 'replication'));
      if (info.includes('connected_slaves:0')) return;
      if (i === 20) throw new Error(`node ${node.port} still has replicas 2 s after the cut: ${info}`);
      await sleep(100);
    }
  }

  /** Ends `cutOff`: the Sentinels' open connections work again at once, the replicas reconnect within a second. */
  async heal(node: RedisNode): Promise<void> {
    for (const user of [SENTINEL_USER, REPLICA_USER]) await node.restore(user);
  }

  async waitForNewMaster(from: number, timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const now = await this.masterPort();
      if (now !== null && now !== from) return now;
      await sleep(100);
    }
    throw new Error(`no new master within ${timeoutMs} ms`);
  }
}

/** 3 masters + 3 replicas, short cluster-node-timeout. */
export class ClusterTopology {
  readonly kind = 'cluster' as const;
  readonly root = tempRoot('cluster');
  readonly nodes: RedisNode[];

  constructor(
    basePort: number,
    readonly opts: { persistence: Persistence; nodeTimeoutMs: number },
  ) {
    this.nodes = Array.from({ length: 6 }, (_, i) => new RedisNode({ port: basePort + i, persistence: opts.persistence, clusterNodeTimeoutMs: opts.nodeTimeoutMs }, this.root));
  }

  brokerEnv(): Record<string, string> {
    return { REDIS_CLUSTER_NODES: this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',') };
  }

  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.start()));
    await run('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    await this.waitUntilSettled(30_000);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    removeDir(this.root);
  }

  /** CLUSTER NODES as seen by a live node: port → role and, for a replica, its master's port. */
  async layout(): Promise<{ port: number; id: string; master: boolean; masterId: string | null; failed: boolean; slots: string[] }[]> {
    for (const n of this.nodes) {
      try {
        const text = String(await command(n.port, 'CLUSTER', 'NODES'));
        return text
          .trim()
          .split('\n')
          .map((line) => {
            const f = line.split(' ');
            return { id: f[0]!, port: Number(f[1]!.split(':')[1]!.split('@')[0]), master: f[2]!.includes('master'), masterId: f[3] === '-' ? null : f[3]!, failed: f[2]!.includes('fail'), slots: f.slice(8) };
          });
      } catch {
        /* try the next node */
      }
    }
    throw new Error('no cluster node answers');
  }

  /** The master that serves a key's hash slot (a pool's keys share the tag `{pool}`). */
  async masterOfSlot(tag: string): Promise<number> {
    const slot = Number(await command(this.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', `{${tag}}`));
    for (const n of await this.layout()) {
      if (!n.master || n.failed) continue;
      for (const s of n.slots) {
        const [a, b] = s.split('-').map(Number);
        if (slot >= a! && slot <= (b ?? a!)) return n.port;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  async replicaOf(masterPort: number): Promise<number> {
    const l = await this.layout();
    const m = l.find((n) => n.port === masterPort)!;
    const r = l.find((n) => n.masterId === m.id && !n.failed);
    if (!r) throw new Error(`master ${masterPort} has no live replica`);
    return r.port;
  }

  node(port: number): RedisNode {
    return this.nodes.find((n) => n.port === port)!;
  }

  /** Every node says cluster_state:ok, every master has a replica with its link up. */
  async waitUntilSettled(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      try {
        let ok = true;
        for (const n of this.nodes) ok &&= String(await command(n.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok');
        const l = await this.layout();
        ok &&= l.filter((n) => n.master && n.slots.length > 0 && !n.failed).length === 3 && l.filter((n) => !n.master && !n.failed).length === 3;
        for (const r of l.filter((n) => !n.master)) ok &&= String(await command(r.port, 'INFO', 'replication')).includes('master_link_status:up');
        if (ok) return;
        last = 'not yet';
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`cluster did not settle in ${timeoutMs} ms (${last})`);
  }
}

export type Topology = SentinelTopology | ClusterTopology;
