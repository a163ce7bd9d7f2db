import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { DEFAULT_KEY_PREFIX, poolBase, poolKeys } from '../../../src/repositories/redis/keys';
import { compileLua, LUA_DIR } from '../../../src/repositories/redis/script-loader';
import { connect } from './redis-test-utils';

// Scripts derive their keys from KEYS[1] with lua/includes/keys.lua; it must build
// exactly the names keys.ts builds. Nothing here writes a key.
describe('keys.lua mirrors keys.ts', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = connect();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it.each([
    [DEFAULT_KEY_PREFIX, 'vpn-statenet', 'gw-01', 'Q2hhbmdlTWVQbGVhc2VYWQ', 'retry-1'],
    ['test:3f1c:', 'vdi-desktop', 'sh-40', 'owner', 'k'],
    ['', 'p', 'm1', 'o:with:colons', 'key with spaces'],
  ])('prefix %j, pool %j', async (prefix, pool, member, owner, idem) => {
    const ts = poolKeys(prefix, pool);
    const lua = compileLua(`--- @include "keys"
      local b = KEYS[1]
      return { key_config(b), key_state(b), key_grants(b), key_owners(b),
               key_member_expiry(b, ARGV[1]), key_idempotency(b, ARGV[2], ARGV[3]), pool_of_base(b) }`);
    expect(await redis.eval(lua, 1, poolBase(prefix, pool), member, owner, idem)).toEqual([
      ts.config,
      ts.state,
      ts.grants,
      ts.owners,
      ts.memberExpiry(member),
      ts.idempotency(owner, idem),
      pool,
    ]);
  });

  it('has one builder for each key of keys.ts, and nothing else', () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'keys.lua'), 'utf8');
    const builders = [...lua.matchAll(/^local function key_(\w+)\(/gm)].map((m) => m[1]);
    const fromTs = Object.keys(poolKeys('', 'p')).filter((k) => k !== 'base');
    const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    expect(builders.sort()).toEqual(fromTs.map(snake).sort());
  });
});
