import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { leaseScripts } from '../../../src/repositories/redis/lease-scripts';
import Redis_ from 'ioredis';
import { leaseLibrary } from '../../../src/repositories/redis/lease-scripts';
import { compileLibrary, compileLua, defineScript, loadLuaScript, LUA_DIR, scriptModeOf, useLibrary } from '../../../src/repositories/redis/script-loader';
import { connect, SHARED_REDIS } from './redis-test-utils';

// Every script file in lua/ (the lease store's and any other repository's).
const operationFiles = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));

describe('Lua script files', () => {
  it('one file per lease store operation, each registered by lease-scripts.ts', () => {
    const leaseOperations = ['bulk-renew-1', 'check-in-1', 'claim-1', 'get-1', 'grant-1', 'heartbeat-1', 'leave-1', 'list-by-member-1', 'list-by-owner-1', 'list-ending-1', 'next-expiry-1', 'reap-1', 'record-failure-1', 'release-1', 'snapshot-1', 'sync-pool-1', 'ticket-1'];
    expect(leaseScripts.map((s) => s.name).sort()).toEqual(leaseOperations);
    for (const name of leaseOperations) expect(operationFiles).toContain(`${name}.lua`);
  });

  it.each(operationFiles)('%s: its header names every KEYS[i] and ARGV[i] it uses, and what it returns', (file) => {
    const source = readFileSync(join(LUA_DIR, file), 'utf8');
    const header = /--\[\[([\s\S]*?)\]\]/.exec(source)?.[1] ?? '';
    const code = source.replace(/--\[\[[\s\S]*?\]\]/, '');
    expect(header).toMatch(/Returns/);
    const script = loadLuaScript(file);
    for (let i = 1; i <= script.numberOfKeys; i++) expect(header).toMatch(new RegExp(`KEYS\\[${i}\\] \\S`));
    // No key beyond the declared ones: everything else derives from KEYS[1].
    for (const m of compileLua(code).matchAll(/KEYS\[(\d+)\]/g)) expect(Number(m[1])).toBeLessThanOrEqual(script.numberOfKeys);
    for (const m of code.matchAll(/ARGV\[(\d+)\]/g)) expect(header).toMatch(new RegExp(`ARGV\\[${m[1]}(\\]| \\.\\.)`));
    expect(header).toMatch(/ARGV\[1\] now/); // every script takes the time first
  });

  it.each(operationFiles)('%s: starts with #!lua, so Redis (Cluster) refuses any access outside the slot of its keys', (file) => {
    const first = readFileSync(join(LUA_DIR, file), 'utf8').split('\n')[0]!;
    expect(first).toMatch(/^#!lua( flags=no-writes)?$/);
    // The lease store's scripts that only read say so (they may then also run on replicas).
    if (['get-1.lua', 'list-by-member-1.lua', 'list-by-owner-1.lua', 'list-ending-1.lua', 'next-expiry-1.lua', 'snapshot-1.lua'].includes(file)) expect(first).toBe('#!lua flags=no-writes');
  });
});

describe('script loader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lua-'));
    cpSync(LUA_DIR, dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('inlines each include once, recursively, and keeps a #!lua line first', () => {
    const lua = compileLua('#!lua flags=no-writes\n--- @include "leases"\n--- @include "keys"\n--- @include "record"\nreturn 1');
    expect(lua.split('\n')[0]).toBe('#!lua flags=no-writes');
    expect(lua).not.toMatch(/@include/);
    expect(lua.match(/local function key_config/g)).toHaveLength(1);
    expect(lua.match(/local function pack_record/g)).toHaveLength(1);
    expect(lua.indexOf('local function key_grants')).toBeLessThan(lua.indexOf('local function insert_lease'));
  });

  it('fails loudly on a missing include or a file name without its key count', () => {
    expect(() => compileLua('--- @include "nope"')).toThrow(/nope\.lua/);
    writeFileSync(join(dir, 'grant.lua'), 'return 1');
    expect(() => loadLuaScript('grant.lua', dir)).toThrow(/<operation>-<number of keys>/);
  });

  it('names the command after the operation and the compiled content, so any change gives a new name', () => {
    const a = loadLuaScript('grant-1.lua');
    expect(a.command).toBe(`tbGrant_${a.sha1.slice(0, 12)}`);
    expect(loadLuaScript('list-by-owner-1.lua').command).toMatch(/^tbListByOwner_[0-9a-f]{12}$/);
    // An include changing changes every script that uses it.
    writeFileSync(join(dir, 'includes', 'choose.lua'), readFileSync(join(dir, 'includes', 'choose.lua'), 'utf8') + '\n-- changed\n');
    const b = loadLuaScript('grant-1.lua', dir);
    expect(b.command).not.toBe(a.command);
    expect(b.sha1).not.toBe(a.sha1);
    expect(loadLuaScript('get-1.lua', dir).command).toBe(loadLuaScript('get-1.lua').command);
  });

  describe('two releases on one Redis', () => {
    let redisA: Redis;
    let redisB: Redis;
    beforeAll(() => {
      redisA = connect();
      redisB = connect();
    });
    afterAll(async () => {
      await Promise.all([redisA.quit(), redisB.quit()]);
    });

    it('each replica runs its own version of a script, also on a shared connection', async () => {
      // Release B changed what reap answers (a stand-in for any change of behaviour).
      writeFileSync(join(dir, 'reap-1.lua'), readFileSync(join(dir, 'reap-1.lua'), 'utf8').replace(/^if not spec then return \{ \{\}, \{\} \} end$/m, "if not spec then return { 'release B' } end"));
      const reapA = defineScript<[number], unknown[]>('reap-1.lua');
      const reapB = defineScript<[number], unknown[]>('reap-1.lua', dir);
      expect(reapB.script.command).not.toBe(reapA.script.command);
      const base = `test:versions:{p}:`; // no keys exist under it: reap finds nothing to do
      const replies = await Promise.all([reapA(redisA, base, 1, 10), reapB(redisB, base, 1, 10), reapB(redisA, base, 1, 10), reapA(redisB, base, 1, 10)]);
      expect(replies).toEqual([[[], []], ['release B'], ['release B'], [[], []]]);
      expect(await redisA.script('EXISTS', reapA.script.sha1, reapB.script.sha1)).toEqual([1, 1]);
    });
  });
});

describe('the function library (Redis Functions)', () => {
  const scriptsIn = (dir: string) => readdirSync(dir).filter((f) => /^[a-z-]+-\d+\.lua$/.test(f)).sort().map((f) => loadLuaScript(f, dir));
  const libraryNames = async (r: Redis) => ((await r.function('LIST')) as unknown[][]).map((l) => l[1] as string);

  it('names library and functions after the compiled scripts: a change to any script gives new names', () => {
    const lib = compileLibrary(leaseScripts);
    expect(lib.name).toBe(leaseLibrary.name);
    expect(lib.name).toMatch(/^tb_[0-9a-f]{12}$/);
    expect(lib.code.split('\n')[0]).toBe(`#!lua name=${lib.name}`);
    for (const s of leaseScripts) expect(lib.functionOf(s)).toBe(`${lib.name}_${s.name.replace(/-/g, '_')}`);
    const dir = mkdtempSync(join(tmpdir(), 'lua-'));
    try {
      cpSync(LUA_DIR, dir, { recursive: true });
      writeFileSync(join(dir, 'includes', 'choose.lua'), readFileSync(join(dir, 'includes', 'choose.lua'), 'utf8') + '\n-- changed\n');
      const changed = compileLibrary(scriptsIn(dir));
      expect(changed.name).not.toBe(lib.name);
      // A script of another release is not in this library (it runs as EVALSHA there).
      expect(lib.functionOf(loadLuaScript('grant-1.lua', dir))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads into Redis with one function per script, read-only scripts flagged no-writes', async () => {
    const redis = connect();
    try {
      await redis.function('LOAD', leaseLibrary.code).catch((e: Error) => expect(e.message).toMatch(/already exists/));
      const [entry] = (await redis.function('LIST', 'LIBRARYNAME', leaseLibrary.name)) as unknown[][];
      const functions = (entry![5] as unknown[][]).map((f) => ({ name: f[1] as string, flags: f[5] as string[] }));
      expect(functions.map((f) => f.name).sort()).toEqual(leaseScripts.map((s) => leaseLibrary.functionOf(s)).sort());
      for (const s of leaseScripts) {
        const readOnly = s.lua.startsWith('#!lua flags=no-writes');
        expect(functions.find((f) => f.name === leaseLibrary.functionOf(s))!.flags).toEqual(readOnly ? ['no-writes'] : []);
      }
    } finally {
      redis.disconnect();
    }
  });

  describe('on a shared connection', () => {
    let dir: string;
    let redis: Redis;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'lua-'));
      cpSync(LUA_DIR, dir, { recursive: true });
      redis = connect();
    });
    afterEach(async () => {
      rmSync(dir, { recursive: true, force: true });
      redis.disconnect();
    });

    it('two releases each load and call their own library', async () => {
      writeFileSync(join(dir, 'reap-1.lua'), readFileSync(join(dir, 'reap-1.lua'), 'utf8').replace(/^if not spec then return \{ \{\}, \{\} \} end$/m, "if not spec then return { 'release C' } end"));
      const reapA = defineScript<[number], unknown[]>('reap-1.lua');
      const reapB = defineScript<[number], unknown[]>('reap-1.lua', dir);
      const libraryB = compileLibrary(scriptsIn(dir));
      const redisB = connect();
      useLibrary(redis, leaseLibrary, 'functions');
      useLibrary(redisB, libraryB, 'functions');
      try {
        const base = `test:versions:{p}:`;
        await redis.function('DELETE', libraryB.name).catch(() => undefined);
        expect(await Promise.all([reapA(redis, base, 1, 10), reapB(redisB, base, 1, 10)])).toEqual([[[], []], ['release C']]);
        expect(await libraryNames(redis)).toEqual(expect.arrayContaining([leaseLibrary.name, libraryB.name]));
        // Neither ran as a script: both are functions of their own library.
        expect(await redis.script('EXISTS', reapB.script.sha1)).toEqual([0]);
      } finally {
        await redis.function('DELETE', libraryB.name).catch(() => undefined);
        redisB.disconnect();
      }
    });

    it("'auto' turns to EVALSHA for a user who may not load functions, and answers the same", async () => {
      const user = `tb-test-nofn-${process.pid}-${Date.now()}`;
      const next = defineScript<[], number>('next-expiry-1.lua');
      const lib = compileLibrary(scriptsIn(dir).map((s) => (s.name === 'next-expiry-1' ? loadLuaScript('next-expiry-1.lua') : s)));
      await redis.acl('SETUSER', user, 'on', '>pw', '~*', '&*', '+@all', '-function', '-fcall', '-fcall_ro');
      const limited = new Redis_({ ...SHARED_REDIS, username: user, password: 'pw', maxRetriesPerRequest: 1 });
      try {
        useLibrary(limited, lib, 'auto');
        expect(scriptModeOf(limited)).toBe('auto');
        const base = `test:nofn:{p}:`;
        expect(await next(limited, base, 1)).toEqual(await next(redis, base, 1));
        expect(scriptModeOf(limited)).toBe('eval');
        expect(await next(limited, base, 1)).toEqual(await next(redis, base, 1));
        // Asked for functions only, the same user gets the refusal.
        const strict = new Redis_({ ...SHARED_REDIS, username: user, password: 'pw', maxRetriesPerRequest: 1 });
        useLibrary(strict, lib, 'functions');
        await expect(next(strict, base, 1)).rejects.toThrow(/NOPERM/);
        strict.disconnect();
      } finally {
        limited.disconnect();
        await redis.acl('DELUSER', user);
      }
    });
  });
});
