import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Cluster, type Redis } from 'ioredis';

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
  /** This script as a block of a function library, registered as `functionName` (see compileLibrary). */
  readonly asFunction: (functionName: string) => string;
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
  const source = readFileSync(join(dir, file), 'utf8');
  const lua = compileLua(source, dir);
  const sha1 = createHash('sha1').update(lua).digest('hex');
  const operation = match[1]!.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  return {
    name,
    numberOfKeys: Number(match[2]),
    lua,
    sha1,
    command: `tb${operation[0]!.toUpperCase()}${operation.slice(1)}_${sha1.slice(0, 12)}`,
    asFunction: (functionName) => asFunction(source, dir, functionName),
  };
}

/**
 * The script as one block of a Redis Function library: its includes run once, when the library is
 * loaded, and its body becomes the registered function (KEYS and ARGV its parameters). The shebang's
 * flags (`no-writes`) become the function's flags.
 */
function asFunction(source: string, dir: string, functionName: string): string {
  const lines = source.split('\n');
  const shebang = /^#!lua(?: flags=([\w,-]+))?$/.exec(lines[0] ?? '');
  if (!shebang) throw new Error(`Lua script for ${functionName}: the first line must be #!lua [flags=…]`);
  const flags = (shebang[1] ?? '').split(',').filter(Boolean);
  let last = 0;
  lines.forEach((line, i) => {
    if (/^--- @include /.test(line)) last = i;
  });
  const prelude = compileLua(lines.slice(1, last + 1).join('\n'), dir);
  const body = lines.slice(last + 1).join('\n');
  return [
    'do',
    prelude,
    `redis.register_function{function_name = '${functionName}', flags = { ${flags.map((f) => `'${f}'`).join(', ')} }, callback = function(KEYS, ARGV)`,
    body,
    'end}',
    'end',
  ].join('\n');
}

/**
 * All scripts of one release as one Redis Function library (Redis ≥ 7): `FUNCTION LOAD` once per
 * node, then `FCALL`. Each call then skips what EVALSHA repeats on every call — creating the ~80
 * local functions of its includes — and state kept at library level lives on between calls (the
 * decoded pool definition, includes/spec.lua). The library and function names carry a hash of the
 * compiled scripts, so two releases on one Redis each load and call their own.
 */
export interface LuaLibrary {
  readonly name: string;
  readonly code: string;
  /** The function a script is registered under, or undefined when it is not in this library. */
  functionOf(script: LuaScript): string | undefined;
}

/** Bumped when the way a script becomes a function changes (the names must change with it). */
const LIBRARY_FORMAT = '1';

export function compileLibrary(scripts: readonly LuaScript[]): LuaLibrary {
  const hash = createHash('sha1').update(LIBRARY_FORMAT);
  for (const s of scripts) hash.update(`${s.name}:${s.sha1};`);
  const name = `tb_${hash.digest('hex').slice(0, 12)}`;
  const functions = new Map(scripts.map((s) => [s.sha1, `${name}_${s.name.replace(/-/g, '_')}`]));
  const code = [`#!lua name=${name}`, ...scripts.map((s) => s.asFunction(functions.get(s.sha1)!))].join('\n');
  return { name, code, functionOf: (s) => functions.get(s.sha1) };
}

type Arg = string | number;
type Client = Redis | Cluster;

/**
 * How a client runs scripts: 'functions' (FCALL of the client's library, loaded on demand) or 'eval'
 * (EVALSHA, falling back to EVAL on NOSCRIPT). 'auto' starts with functions and turns to eval for
 * good when the server has no FCALL (Redis < 7) or the user may not FUNCTION LOAD (ACL).
 */
export type ScriptMode = 'auto' | 'functions' | 'eval';

interface ClientScripts {
  library: LuaLibrary | null;
  mode: ScriptMode;
  /** The FUNCTION LOAD in flight, shared by every call that found the function missing. */
  loading: Promise<void> | null;
  commands: Set<string>;
}
const clients = new WeakMap<Client, ClientScripts>();

function stateOf(redis: Client): ClientScripts {
  let state = clients.get(redis);
  if (!state) clients.set(redis, (state = { library: null, mode: 'eval', loading: null, commands: new Set() }));
  return state;
}

/** Registers the script on this client once (ioredis EVALSHA, falling back to EVAL on NOSCRIPT). */
export function registerScript(redis: Client, script: LuaScript): void {
  const state = stateOf(redis);
  if (state.commands.has(script.command)) return;
  redis.defineCommand(script.command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
  state.commands.add(script.command);
}

/**
 * Runs the library's scripts on this client as functions ('auto', 'functions') or as EVALSHA ('eval').
 * Scripts outside the library always run as EVALSHA.
 */
export function useLibrary(redis: Client, library: LuaLibrary, mode: ScriptMode = 'auto'): void {
  const state = stateOf(redis);
  state.library = library;
  state.mode = mode;
}

/** How this client runs its library's scripts now ('auto' until a call has settled it, or for good). */
export function scriptModeOf(redis: Client): ScriptMode {
  return stateOf(redis).mode;
}

const FUNCTION_MISSING = /Function not found/i;
/** The server has no functions (Redis < 7), or this user may not use them. */
const NO_FUNCTIONS = /unknown command|NOPERM.*'(fcall|function)/i;
const ALREADY_LOADED = /already exists/i;

/** FUNCTION LOAD on the node(s) that run the library: every master of a Cluster. */
function loadLibrary(redis: Client, state: ClientScripts, library: LuaLibrary): Promise<void> {
  state.loading ??= (async () => {
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    await Promise.all(
      nodes.map((node) =>
        node.function('LOAD', library.code).catch((e: Error) => {
          if (!ALREADY_LOADED.test(e.message)) throw e;
        }),
      ),
    );
  })().finally(() => (state.loading = null));
  return state.loading;
}

/**
 * What a failed FCALL turns into: a missing function (a new node, one that came back empty, a
 * FUNCTION FLUSH) ran nothing, so the library is loaded and the call made again; in 'auto' mode a
 * server without functions turns this client to EVALSHA for good. Anything else is the caller's.
 */
async function recover<Reply>(e: unknown, redis: Client, state: ClientScripts, library: LuaLibrary, call: () => Promise<Reply>, evalRun: () => Promise<Reply>): Promise<Reply> {
  const message = e instanceof Error ? e.message : '';
  if (state.mode === 'auto' && NO_FUNCTIONS.test(message)) {
    state.mode = 'eval';
    return evalRun();
  }
  if (!FUNCTION_MISSING.test(message)) throw e;
  try {
    await loadLibrary(redis, state, library);
  } catch (loadError) {
    if (state.mode === 'auto' && NO_FUNCTIONS.test(loadError instanceof Error ? loadError.message : '')) {
      state.mode = 'eval';
      return evalRun();
    }
    throw loadError;
  }
  return call();
}

/**
 * A typed caller for one script (one file, one round trip). Every script takes the
 * pool base as KEYS[1] and the time as ARGV[1] (`null` → the script reads Redis TIME).
 */
export function defineScript<Args extends Arg[], Reply>(file: string, dir?: string) {
  const script = loadLuaScript(file, dir);
  const evalRun = (redis: Client, all: Arg[]): Promise<Reply> => {
    registerScript(redis, script);
    const command = (redis as unknown as Record<string, (...a: Arg[]) => Promise<Reply>>)[script.command]!;
    return command.apply(redis, all);
  };
  // The function's name in the last library asked about (one library per release, so one entry).
  let named: { library: LuaLibrary; fn: string | undefined } | null = null;
  const run = (redis: Client, base: string, now: number | null, ...args: Args): Promise<Reply> => {
    const all: Arg[] = [base, now === null ? '' : now, ...args];
    const state = clients.get(redis);
    if (!state?.library || state.mode === 'eval') return evalRun(redis, all);
    const library = state.library;
    if (named?.library !== library) named = { library, fn: library.functionOf(script) };
    const fn = named.fn;
    if (fn === undefined) return evalRun(redis, all);
    // The hot path: FCALL and one catch (no async wrapper: every request passes here).
    const call = () => redis.fcall(fn, 1, ...all) as Promise<Reply>;
    const reply = call().catch((e: unknown) => recover(e, redis, state, library, call, () => evalRun(redis, all)));
    if (state.mode !== 'auto') return reply;
    return reply.then((r) => {
      if (state.mode === 'auto') state.mode = 'functions';
      return r;
    });
  };
  return Object.assign(run, { script });
}
