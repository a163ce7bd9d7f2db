import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { leaseScripts } from '../../../src/repositories/redis/lease-scripts';
import { compileLua, defineScript, loadLuaScript, LUA_DIR } from '../../../src/repositories/redis/script-loader';
import { connect } from './redis-test-utils';

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
