import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Redis } from 'ioredis';

/** Where the scripts live (`npm run build` copies them next to the compiled store). */
export const LUA_DIR = join(__dirname, 'lua');

const INCLUDE = /^--- @include "([\w-]+)"[ \t]*$/gm;

/** One operation's script, ready to register. */
export interface LuaScript {
  /** File name without extension, e.g. `grant-1`. */
  readonly name: string;
  readonly numberOfKeys: number;
  /** The source with every include inlined. */
  readonly lua: string;
  /** SHA-1 of `lua`, as EVALSHA knows it. */
  readonly sha1: string;
  /**
   * Name the script is registered under on a client: operation and content hash
   * (`tbGrant_3f9a0c12d4e5`), so replicas of two releases sharing one Redis never
   * run each other's version.
   */
  readonly command: string;
}

/**
 * Inlines `--- @include "<name>"` lines with `<dir>/includes/<name>.lua`, each
 * include once (the first time it is asked for), recursively. A `#!lua` line
 * stays the first line.
 */
export function compileLua(source: string, dir: string = LUA_DIR): string {
  const done = new Set<string>();
  const inline = (text: string): string =>
    text.replace(INCLUDE, (_line, name: string) => {
      if (done.has(name)) return '';
      done.add(name);
      return `-- include ${name}\n${inline(readFileSync(join(dir, 'includes', `${name}.lua`), 'utf8'))}`;
    });
  return inline(source);
}

/** Reads and compiles `<dir>/<file>`; the key count comes from the file name (`grant-1.lua` → 1). */
export function loadLuaScript(file: string, dir: string = LUA_DIR): LuaScript {
  const name = basename(file, '.lua');
  const match = /^([a-z][a-z-]*)-(\d+)$/.exec(name);
  if (!match) throw new Error(`Lua script ${file}: the name must be <operation>-<number of keys>.lua`);
  const lua = compileLua(readFileSync(join(dir, file), 'utf8'), dir);
  const sha1 = createHash('sha1').update(lua).digest('hex');
  const operation = match[1]!.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return {
    name,
    numberOfKeys: Number(match[2]),
    lua,
    sha1,
    command: `tb${operation[0]!.toUpperCase()}${operation.slice(1)}_${sha1.slice(0, 12)}`,
  };
}

type Arg = string | number;
const registered = new WeakMap<Redis, Set<string>>();

/** Registers the script on this client once (ioredis EVALSHA, falling back to EVAL on NOSCRIPT). */
export function registerScript(redis: Redis, script: LuaScript): void {
  let names = registered.get(redis);
  if (!names) registered.set(redis, (names = new Set()));
  if (names.has(script.command)) return;
  redis.defineCommand(script.command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  names.add(script.command);
}

/**
 * A typed caller for one script (one file, one round trip). Every script takes the
 * pool base as KEYS[1] and the time as ARGV[1] (`null` → the script reads Redis TIME).
 */
export function defineScript<Args extends Arg[], Reply>(file: string, dir?: string) {
  const script = loadLuaScript(file, dir);
  const run = (redis: Redis, base: string, now: number | null, ...args: Args): Promise<Reply> => {
    registerScript(redis, script);
    const command = (redis as unknown as Record<string, (...a: Arg[]) => Promise<Reply>>)[script.command]!;
    return command.call(redis, base, now === null ? '' : now, ...args);
  };
  return Object.assign(run, { script });
}
