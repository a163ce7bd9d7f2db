import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { poolBase } from '../../../src/repositories/redis/keys';
import { ScriptCode } from '../../../src/repositories/redis/script-codes';
import { compileLua, LUA_DIR } from '../../../src/repositories/redis/script-loader';
import { connect } from './redis-test-utils';

// The shared Lua fragments, run on the real Redis (nothing here writes a key).
describe('Lua includes', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = connect();
  });
  afterAll(async () => {
    await redis.quit();
  });

  const evalWith = (includes: string[], body: string, keys: string[], args: string[] = []) =>
    redis.eval(compileLua(`${includes.map((i) => `--- @include "${i}"`).join('\n')}\n${body}`), keys.length, ...keys, ...args);

  it('codes.lua and script-codes.ts agree', () => {
    const lua = readFileSync(join(LUA_DIR, 'includes', 'codes.lua'), 'utf8');
    const inLua = Object.fromEntries([...lua.matchAll(/^local ([A-Z_]+) = (-?\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(inLua).toEqual(ScriptCode);
  });

  describe('record.lua', () => {
    const base = poolBase('t:', 'vpn-statenet');

    it('stores "<pool>.<rest>" ids by their rest, any other id marked, one-to-one', async () => {
      const ids = ['vpn-statenet.Q2hhbmdlTWVQbGVh', 'g00001', 'vpn-statenet..x', 'vpn-statenet.', 'vdi-desktop.abc', '.x', 'vpn-statenetx.a'];
      const fields = (await evalWith(
        ['keys', 'record'],
        `local pool, out = pool_of_base(KEYS[1]), {}
         for i, id in ipairs(ARGV) do out[i] = field_of_id(pool, id) end
         return out`,
        [base],
        ids,
      )) as string[];
      expect(fields[0]).toBe('Q2hhbmdlTWVQbGVh');
      expect(fields[1]).toBe('.g00001');
      expect(new Set(fields).size).toBe(ids.length);
      const back = await evalWith(
        ['keys', 'record'],
        `local pool, out = pool_of_base(KEYS[1]), {}
         for i, f in ipairs(ARGV) do out[i] = id_of_field(pool, f) end
         return out`,
        [base],
        fields,
      );
      expect(back).toEqual(ids);
    });

    it('compares strings in byte order, whatever the server locale', async () => {
      const pairs = [
        ['a', 'B'],
        ['B', 'a'],
        ['a', 'ab'],
        ['ab', 'a'],
        ['-', '_'],
        ['Z', 'a'],
        ['x', 'x'],
      ];
      const lua = await evalWith(
        ['record'],
        `local out = {}
         for i = 1, #ARGV, 2 do out[#out + 1] = bytes_less(ARGV[i], ARGV[i + 1]) and 1 or 0 end
         return out`,
        [],
        pairs.flat(),
      );
      expect(lua).toEqual(pairs.map(([a, b]) => (Buffer.compare(Buffer.from(a!), Buffer.from(b!)) < 0 ? 1 : 0)));
    });

    it('packs and unpacks a record unchanged', async () => {
      const lua = await evalWith(
        ['record'],
        `local r = { member = 'gw-01', agency = 'justice', owner = 'Q2hhbmdlTWVQbGVhc2VYWQ', client = 'laptop',
                     fence = 123456789, created = 1795243009183, ttl = 120000 }
         local u = unpack_record(pack_record(r))
         return { u.member, u.agency, u.owner, u.client, u.fence, u.created, u.ttl }`,
        [],
      );
      expect(lua).toEqual(['gw-01', 'justice', 'Q2hhbmdlTWVQbGVhc2VYWQ', 'laptop', 123456789, 1795243009183, 120000]);
    });
  });
});
