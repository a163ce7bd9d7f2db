import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { mintToken, tokenClaimsProblem } from '../../src/auth/token-minter';
import { testConfig, TEST_JWT_SECRET, TEST_PSEUDONYM_KEY } from '../support/test-app';

/** `npm run token` (and every other caller of mintToken) mints only tokens the broker accepts. */
describe('minting tokens', () => {
  const root = join(__dirname, '..', '..');

  it.each([
    [{ roles: ['gateway-agent'] }, 'needs --member'],
    [{ roles: ['gateway-agent'], members: [] }, 'needs --member'],
    [{ roles: ['operator'], members: ['vpn-a/gw-1'] }, 'only for gateway-agent'],
    [{ members: ['vpn-a/gw-1'] }, 'only for gateway-agent'],
    [{ roles: ['gateway-agent'], members: ['gw-1'] }, 'must look like <pool>/<member>'],
  ])('refuses %j', async (claims, message) => {
    expect(tokenClaimsProblem({ sub: 's', agency: 'alpha', ...claims })).toContain(message);
    const { broker } = testConfig();
    await expect(mintToken({ sub: 's', agency: 'alpha', ...claims }, broker.auth, TEST_JWT_SECRET)).rejects.toThrow(message);
  });

  it('npm run token -- --role gateway-agent without --member exits 2 and prints no token', () => {
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'src', 'cli', 'token.cli.ts'), '--sub', 'agent', '--agency', 'alpha', '--role', 'gateway-agent'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, BROKER_CONFIG: join(root, 'test', 'fixtures', 'small.yaml'), BROKER_JWT_SECRET: TEST_JWT_SECRET, BROKER_PSEUDONYM_KEY: TEST_PSEUDONYM_KEY, LOG_LEVEL: 'silent' },
    });
    expect([r.status, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toContain('needs --member');
  });
});
