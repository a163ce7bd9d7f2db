import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, jwtVerify } from 'jose';
import { loadAppConfig } from '../../src/config/config.loader';
import { prepareTokens, TOKENS_FORMAT, writeTokensFile } from '../../load-tests/lib/prepare-tokens';

describe('load-test token preparation', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'loadtest-tokens-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = () =>
    loadAppConfig({ BROKER_JWT_SECRET: 'x'.repeat(40), BROKER_PSEUDONYM_KEY: 'y'.repeat(40), BROKER_STATE_DIR: join(dir, 'state') }, process.cwd());

  it("mints tokens the broker's secret verifies, one distinct synthetic employee each, spread by the pool's shares", async () => {
    const cfg = config();
    const file = await prepareTokens(cfg, { count: 3000, pool: 'vpn-statenet', ttlSeconds: 3600 });
    expect(file.format).toBe(TOKENS_FORMAT);
    expect(file.employees).toHaveLength(3000);
    const subjects = new Set(file.employees.map((e) => decodeJwt(e.token).sub));
    expect(subjects.size).toBe(3000);
    expect([...subjects].every((s) => /^loadtest-employee-\d{6}$/.test(s!))).toBe(true);

    const key = new TextEncoder().encode(cfg.jwtSecret!);
    const { payload } = await jwtVerify(file.employees[17]!.token, key, { issuer: cfg.broker.auth.issuer, audience: cfg.broker.auth.audience });
    expect(payload.agency).toBe(file.employees[17]!.agency);
    expect(payload.roles).toEqual(['employee']);
    expect(payload.exp! - payload.iat!).toBe(3600);

    // 3,000 is below the sum of guarantees: each agency in proportion, none above its guarantee.
    expect(file.allocation.reduce((s, a) => s + a.count, 0)).toBe(3000);
    for (const a of file.allocation) {
      expect(a.count).toBeLessThanOrEqual(a.guaranteed);
      expect(file.employees.filter((e) => e.agency === a.id)).toHaveLength(a.count);
    }
  });

  it('adds an operator and one agent per gateway, restricted to its member', async () => {
    const cfg = config();
    const file = await prepareTokens(cfg, { count: 10, pool: 'vpn-statenet', ttlSeconds: 600 });
    expect(decodeJwt(file.operator).roles).toEqual(['operator']);
    expect(Object.keys(file.gatewayAgents)).toHaveLength(12);
    const agent = decodeJwt(file.gatewayAgents['gw-05']!);
    expect(agent.roles).toEqual(['gateway-agent']);
    expect(agent.members).toEqual(['vpn-statenet/gw-05']);
  });

  it('refuses an unknown pool and more employees than the agencies may hold', async () => {
    const cfg = config();
    await expect(prepareTokens(cfg, { count: 10, pool: 'no-such-pool', ttlSeconds: 60 })).rejects.toThrow('no pool "no-such-pool"');
    await expect(prepareTokens(cfg, { count: 1801 * 100, pool: 'vpn-statenet', ttlSeconds: 60 })).rejects.toThrow('exceed the sum');
  });

  it('writes the file readable by its owner only', async () => {
    const out = join(dir, 'nested', 'tokens.json');
    writeTokensFile(out, await prepareTokens(config(), { count: 5, pool: 'vdi-desktop', ttlSeconds: 60 }));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(out, 'utf8')).pool).toBe('vdi-desktop');
  });
});
