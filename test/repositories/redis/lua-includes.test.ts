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

  describe('leases.lua owner_key', () => {
    // The owner index bucket as every earlier release computed it, byte by byte: leases already held
    // are filed under it, so it may never change.
    const bucketOf = (owner: string) => {
      let h = 0;
      for (const b of Buffer.from(owner, 'utf8')) h = (h * 31 + b) % 1048573;
      return h % 1024;
    };

    it('files every owner in the bucket of the byte-by-byte hash, at any length and byte value, also asked twice in a row', async () => {
      const owners = ['', 'a', 'abcde', 'abcdef', 'abcdefg', 'ÿÿÿÿÿÿÿÿÿÿÿÿÿ', 'ämter-ü', '\u{1F600}x'];
      for (let n = 1; n <= 50; n++) owners.push(Buffer.from(Array.from({ length: n }, (_, i) => 255 - ((i * 37 + n) % 200))).toString('latin1'));
      for (let i = 0; i < 40; i++) owners.push(`pk1.${Buffer.from(String(i * 7919)).toString('base64url')}${'Z'.repeat(i % 13)}`);
      const base = poolBase('t:', 'vpn-statenet');
      const keys = (await evalWith(
        ['keys', 'leases'],
        `local out = {}
         for i, owner in ipairs(ARGV) do out[#out + 1] = owner_key(KEYS[1], owner) out[#out + 1] = owner_key(KEYS[1], owner) end
         return out`,
        [base],
        owners,
      )) as string[];
      expect(keys).toEqual(owners.flatMap((o) => [`${base}owners:${bucketOf(o)}`, `${base}owners:${bucketOf(o)}`]));
      // The same owner in another pool: the other pool's key, not the one kept from before.
      const other = poolBase('t:', 'vdi-desktop');
      expect(await evalWith(['keys', 'leases'], `return { owner_key(KEYS[1], ARGV[1]), owner_key(KEYS[2], ARGV[1]) }`, [base, other], ['o1'])).toEqual([
        `${base}owners:${bucketOf('o1')}`,
        `${other}owners:${bucketOf('o1')}`,
      ]);
    });
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
