import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { DEFAULT_KEY_PREFIX, poolBase, poolKeys } from '../../../src/repositories/redis/keys';
import { compileLua, LUA_DIR } from '../../../src/repositories/redis/script-loader';
import { connect } from './redis-test-utils';

// Scripts derive their keys from KEYS[1] with lua/includes/keys.lua; it must build
// exactly the names keys.ts builds, for every key. Nothing here writes a key.
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const builders = Object.entries(poolKeys('', 'p')).filter(([name]) => name !== 'base');
const sampleArgs = [['gw-01', 'Q2hhbmdlTWVQbGVhc2VYWQ'], ['sh-40', 'o:with:colons'], ['m1', 'key with spaces']] as const;

describe('keys.lua mirrors keys.ts', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = connect();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('has one builder for each key of keys.ts, and nothing else', () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'keys.lua'), 'utf8');
    const inLua = [...lua.matchAll(/^local function key_(\w+)\(/gm)].map((m) => m[1]);
    expect(inLua.sort()).toEqual(builders.map(([name]) => snake(name)).sort());
  });

  describe.each([
    [DEFAULT_KEY_PREFIX, 'vpn-statenet', 0],
    ['test:3f1c:', 'vdi-desktop', 1],
    ['', 'p', 2],
  ] as const)('prefix %j, pool %j', (prefix, pool, sample) => {
    it.each(builders.map(([name]) => name))('%s', async (name) => {
      const build = (poolKeys(prefix, pool) as unknown as Record<string, string | ((...a: unknown[]) => string)>)[name]!;
      const arity = typeof build === 'function' ? build.length : 0;
      const args = sampleArgs[sample].slice(0, arity);
      const lua = compileLua(`--- @include "keys"\nreturn { key_${snake(name)}(KEYS[1], ${args.map((_, i) => `ARGV[${i + 1}]`).join(', ') || 'nil'}), pool_of_base(KEYS[1]) }`);
      const expected = typeof build === 'function' ? build(...args) : build;
      expect(await redis.eval(lua, 1, poolBase(prefix, pool), ...args)).toEqual([expected, pool]);
    });
  });
});
