import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadAppConfig } from '../../src/config/config.loader';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';
import { configuredCapacity } from '../../src/config/broker-config.schema';

const ROOT = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'broker-config-'));
const secrets = { BROKER_JWT_SECRET: 'j'.repeat(40), BROKER_PSEUDONYM_KEY: 'p'.repeat(40), BROKER_STATE_DIR: dir };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problems(env: Record<string, string>): { file: string; problems: { path: string; reason: string }[] } {
  try {
    loadAppConfig({ ...secrets, ...env }, ROOT);
  } catch (e) {
    if (e instanceof ConfigError) return { file: e.file, problems: e.problems };
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const valid = `
pools:
  - id: vpn
    kind: vpn
    members: [{ id: gw-1, maxSessions: 10 }, { id: gw-2, maxSessions: 10 }]
agencies:
  - id: alpha
    pools: { vpn: { guaranteed: 5, maximum: 15 } }
`;

describe('configuration', () => {
  it('loads the shipped sample: 60,000 VPN tunnels, a licence-capped desktop pool, a dozen agencies', () => {
    const cfg = loadAppConfig({ ...secrets }, ROOT);
    const [vpn, vdi] = cfg.broker.pools;
    expect(configuredCapacity(vpn!)).toBe(60_000);
    expect(vpn!.kind).toBe('vpn');
    expect(vdi!.kind).toBe('vdi');
    expect(configuredCapacity(vdi!)).toBe(1_800);
    expect(cfg.broker.agencies.length).toBeGreaterThanOrEqual(12);
    expect(cfg.broker.agencies.map((a) => a.id)).not.toEqual(expect.arrayContaining(['police', 'finance']));
    const specs = poolSpecsFromConfig(cfg.broker);
    expect(specs[0]!.perEmployeeLimit).toBe(1);
    expect(cfg.redis).toBeNull();
  });

  it.each([
    ['a member without capacity', valid.replace('maxSessions: 10 }, {', 'maxSessions: 0 }, {'), 'pools[0].members[0].maxSessions', 'greater than 0'],
    ['an unknown key (typo)', valid.replace('kind: vpn', 'kind: vpn\n    strategie: depth-first'), 'pools[0]', 'strategie'],
    ['an unknown pool kind', valid.replace('kind: vpn', 'kind: citrix'), 'pools[0].kind', 'vpn'],
    ['an entitlement to an unknown pool', valid.replace('pools: { vpn:', 'pools: { vdi:'), 'agencies[0].pools.vdi', 'unknown pool'],
    ['guaranteed above maximum', valid.replace('guaranteed: 5, maximum: 15', 'guaranteed: 16, maximum: 15'), 'agencies[0].pools.vpn.guaranteed', 'exceed'],
    ['guarantees above capacity', valid.replace('guaranteed: 5, maximum: 15', 'guaranteed: 21, maximum: 30'), 'pools[0]', 'more than the pool'],
    ['duplicate member ids', valid.replace('id: gw-2', 'id: gw-1'), 'pools[0].members[1].id', 'duplicate'],
    ['a bad id', valid.replace('id: alpha', 'id: Alpha Agency'), 'agencies[0].id', 'lower-case'],
  ])('refuses %s, naming the file, the path and the reason', (_name, text, path, reason) => {
    const f = file(`bad-${path.replace(/\W/g, '')}.yaml`, text);
    const r = problems({ BROKER_CONFIG: f });
    expect(r.file).toBe(f);
    expect(r.problems).toEqual(expect.arrayContaining([expect.objectContaining({ path, reason: expect.stringContaining(reason) })]));
  });

  it('refuses YAML that does not parse, with the line', () => {
    const r = problems({ BROKER_CONFIG: file('syntax.yaml', 'pools:\n  - id: vpn\n   kind: [vpn\n') });
    expect(r.problems[0]!.path).toMatch(/^line \d+, column \d+$/);
  });

  it('refuses a missing file', () => {
    expect(problems({ BROKER_CONFIG: join(dir, 'nope.yaml') }).problems[0]!.reason).toMatch(/cannot read file: ENOENT/);
  });

  it('requires shared secrets with Redis, and one Redis target only', () => {
    const f = file('ok.yaml', valid);
    expect(() => loadAppConfig({ BROKER_CONFIG: f, REDIS_URL: 'redis://127.0.0.1:6379', BROKER_STATE_DIR: dir }, ROOT)).toThrow(/BROKER_JWT_SECRET/);
    expect(problems({ BROKER_CONFIG: f, REDIS_URL: 'redis://x:1', REDIS_CLUSTER_NODES: 'a:1' }).problems[0]!.reason).toMatch(/only one/);
    expect(problems({ BROKER_CONFIG: f, REDIS_SENTINELS: 'a:26379' }).problems[0]!.path).toBe('REDIS_SENTINEL_MASTER');
    const s = loadAppConfig({ ...secrets, BROKER_CONFIG: f, REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_MASTER: 'mymaster' }, ROOT);
    expect(s.redis).toEqual({ mode: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], master: 'mymaster' });
  });

  it('confirms writes on every replica by default on Sentinel and Cluster, on none on a standalone Redis (docs/guarantees.md)', () => {
    const f = file('ack.yaml', valid);
    const sentinel = { ...secrets, BROKER_CONFIG: f, REDIS_SENTINELS: 's1:26379', REDIS_SENTINEL_MASTER: 'm' };
    expect(loadAppConfig(sentinel, ROOT).redisAck).toEqual({ replicas: 'all', timeoutMs: 500 });
    expect(loadAppConfig({ ...secrets, BROKER_CONFIG: f, REDIS_CLUSTER_NODES: 'c1:7000' }, ROOT).redisAck.replicas).toBe('all');
    expect(loadAppConfig({ ...secrets, BROKER_CONFIG: f, REDIS_URL: 'redis://r:6379' }, ROOT).redisAck.replicas).toBe(0);
    expect(loadAppConfig({ ...sentinel, REDIS_ACK_REPLICAS: '2', REDIS_ACK_TIMEOUT_MS: '800' }, ROOT).redisAck).toEqual({ replicas: 2, timeoutMs: 800 });
    expect(problems({ ...sentinel, REDIS_ACK_REPLICAS: 'most' }).problems[0]).toEqual({ path: 'REDIS_ACK_REPLICAS', reason: "must be 'all' or a whole number from 0 to 16" });
  });

  it('takes a variable set but empty as unset (REDIS_URL= runs on the embedded store)', () => {
    const f = file('empty-env.yaml', valid);
    const c = loadAppConfig({ BROKER_CONFIG: f, BROKER_STATE_DIR: dir, REDIS_URL: '', REDIS_KEY_PREFIX: '', PORT: '' }, ROOT);
    expect(c.redis).toBeNull();
    expect(c.port).toBe(loadAppConfig({ BROKER_CONFIG: f, BROKER_STATE_DIR: dir }, ROOT).port);
  });

  it('takes http.trustProxy as true or the proxies\' addresses, CIDRs or named ranges, and refuses a hop count (it cannot tell a proxy from a client that bypasses it)', () => {
    const f = file('trust-proxy.yaml', `${valid}\nhttp:\n  trustProxy: 2\n`);
    const r = problems({ BROKER_CONFIG: f });
    expect(r.file).toBe(f);
    expect(r.problems).toEqual([{ path: 'http.trustProxy', reason: expect.stringMatching(/addresses or CIDRs/) }]);
    const addresses = file('trust-proxy-cidr.yaml', `${valid}\nhttp:\n  trustProxy: ["10.0.0.0/8", "127.0.0.1"]\n`);
    expect(loadAppConfig({ ...secrets, BROKER_CONFIG: addresses }, ROOT).broker.http.trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1']);
    const named = file('trust-proxy-named.yaml', `${valid}\nhttp:\n  trustProxy: [loopback, "fd00::/8"]\n`);
    expect(loadAppConfig({ ...secrets, BROKER_CONFIG: named }, ROOT).broker.http.trustProxy).toEqual(['loopback', 'fd00::/8']);
    const bad = file('trust-proxy-bad.yaml', `${valid}\nhttp:\n  trustProxy: ["10.0.0.0/8", ingress.local]\n`);
    expect(problems({ BROKER_CONFIG: bad }).problems).toEqual([{ path: 'http.trustProxy[1]', reason: expect.stringMatching(/IP address, a CIDR/) }]);
  });

  it('refuses a member with more sessions than its agent can report in one bulk renewal', () => {
    const f = file('member-too-large.yaml', valid.replace('maxSessions: 10 }, {', 'maxSessions: 20001 }, {'));
    expect(problems({ BROKER_CONFIG: f }).problems).toEqual([{ path: 'pools[0].members[0].maxSessions', reason: expect.stringMatching(/^must be at most 20,000: .*one bulk renewal/) }]);
    const most = file('member-largest.yaml', valid.replace('maxSessions: 10 }, {', 'maxSessions: 20000 }, {'));
    expect(loadAppConfig({ ...secrets, BROKER_CONFIG: most }, ROOT).broker.pools[0]!.members[0]!.maxSessions).toBe(20_000);
  });

  it('stops start-up with file, path and reason (exit code 78)', () => {
    const f = file('startup.yaml', valid.replace('maxSessions: 10 }, {', 'maxSessions: -3 }, {'));
    const r = spawnSync(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...secrets, BROKER_CONFIG: f, PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(f);
    expect(r.stderr).toContain('pools[0].members[0].maxSessions: must be greater than 0');
  });
});
