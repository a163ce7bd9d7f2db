/**
 * The load tests' preparation step (Node, not k6): mints bearer tokens for
 * many synthetic employees with the broker's own configuration and secret,
 * spread over the agencies of one pool so that guarantees and maxima hold,
 * plus one operator token and one gateway-agent token per member. k6 reads
 * the file; the broker accepts the tokens through its ordinary
 * authentication — there is no load-test hole in it.
 *
 *   npm run loadtest:prepare -- --count 60000 --pool vpn-statenet --out load-tests/.data/tokens.json
 *
 * Reads BROKER_CONFIG and BROKER_JWT_SECRET like the broker (or the
 * generated local secret of the embedded default in .broker/).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mintToken } from '../../src/auth/token-minter';
import { ConfigError, loadAppConfig, type AppConfig } from '../../src/config/config.loader';
import { poolSpecsFromConfig } from '../../src/config/pool-specs';
import { allocateEmployees, employeeSubject, interleaveAgencies } from './employees.js';

export const TOKENS_FORMAT = 'telework-broker-loadtest-tokens/1';

export interface TokensFile {
  format: typeof TOKENS_FORMAT;
  createdAt: string;
  expiresAt: string;
  configFile: string;
  pool: string;
  /** Employees per agency, beside the agency's share of the pool. */
  allocation: { id: string; count: number; guaranteed: number; maximum: number }[];
  operator: string;
  /** Member id → token of its agent (role gateway-agent, restricted to that member). */
  gatewayAgents: Record<string, string>;
  /**
   * Employees of a priority class, for the pool's reserved headroom: the last ones of the list, so
   * that arriving in index order, the default class fills the pool up to the headroom and these fill it.
   */
  priorities: { class: string; rank: number; from: number; count: number }[];
  /** Employee i (0-based) is `employeeSubject(i)`; agencies interleaved in arrival order. */
  employees: { agency: string; token: string; priority?: string }[];
}

export interface PrepareOptions {
  count: number;
  pool: string;
  ttlSeconds: number;
  subjectPrefix?: string;
}

/** Builds the tokens file in memory. Throws with a sentence a person can act on. */
export async function prepareTokens(config: AppConfig, options: PrepareOptions): Promise<TokensFile> {
  const auth = config.broker.auth;
  if (auth.mode !== 'hs256' || !config.jwtSecret) {
    throw new Error(`auth.mode is ${auth.mode} in ${config.configFile}: load-test tokens must then come from the identity provider`);
  }
  const spec = poolSpecsFromConfig(config.broker).find((p) => p.id === options.pool);
  if (!spec) throw new Error(`no pool "${options.pool}" in ${config.configFile} (pools: ${config.broker.pools.map((p) => p.id).join(', ')})`);
  const allocation = allocateEmployees(options.count, spec.agencies);
  const agencies = interleaveAgencies(allocation);
  const secret = config.jwtSecret;
  const someAgency = spec.agencies[0]!.id;
  const ttl = options.ttlSeconds;

  // The pool's headroom bands, highest rank last in the list (it arrives last and tops the pool up).
  const priorities: TokensFile['priorities'] = [];
  const bands = (spec.headroom ?? []).filter((h) => h.slots > 0).sort((a, b) => a.rank - b.rank);
  const reserved = bands.reduce((n, h) => n + h.slots, 0);
  if (options.count > reserved) {
    let from = options.count - reserved;
    for (const h of bands) {
      priorities.push({ class: h.class, rank: h.rank, from, count: h.slots });
      from += h.slots;
    }
  }
  const classOf = (i: number) => priorities.find((p) => i >= p.from && i < p.from + p.count)?.class;

  const employees = new Array<{ agency: string; token: string; priority?: string }>(agencies.length);
  const batch = 1000;
  for (let start = 0; start < agencies.length; start += batch) {
    const end = Math.min(start + batch, agencies.length);
    const tokens = await Promise.all(
      agencies.slice(start, end).map((agency, k) => {
        const priority = classOf(start + k);
        return mintToken({ sub: employeeSubject(start + k, options.subjectPrefix), agency, ttlSeconds: ttl, ...(priority ? { priority } : {}) }, auth, secret);
      }),
    );
    tokens.forEach((token, k) => {
      const priority = classOf(start + k);
      employees[start + k] = { agency: agencies[start + k]!, token, ...(priority ? { priority } : {}) };
    });
  }
  const operator = await mintToken({ sub: 'loadtest-operator', agency: someAgency, roles: ['operator'], ttlSeconds: ttl }, auth, secret);
  const gatewayAgents: Record<string, string> = {};
  for (const m of spec.members) {
    gatewayAgents[m.id] = await mintToken(
      { sub: `loadtest-agent-${m.id}`, agency: someAgency, roles: ['gateway-agent'], members: [`${spec.id}/${m.id}`], ttlSeconds: ttl },
      auth,
      secret,
    );
  }
  const now = Date.now();
  return {
    format: TOKENS_FORMAT,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + ttl * 1000).toISOString(),
    configFile: config.configFile,
    pool: spec.id,
    allocation: allocation.map((a) => {
      const share = spec.agencies.find((s) => s.id === a.id)!;
      return { id: a.id, count: a.count, guaranteed: share.guaranteed, maximum: share.maximum };
    }),
    operator,
    gatewayAgents,
    priorities,
    employees,
  };
}

/** Writes the file readable by its owner only: it holds bearer tokens. */
export function writeTokensFile(file: string, tokens: TokensFile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(tokens), { mode: 0o600 });
  chmodSync(file, 0o600);
}

const usage = `usage: npm run loadtest:prepare -- --count <employees> [--pool vpn-statenet] [--out load-tests/.data/tokens.json] [--ttl 12h]

Mints tokens for <employees> synthetic employees (loadtest-employee-000001 …), spread over the
agencies entitled to the pool (each at least its guarantee, none above its maximum), an operator
token and one gateway-agent token per member, with the broker's configuration (BROKER_CONFIG)
(the last employees, as many as the pool's reserved headroom, get that priority class)
and secret (BROKER_JWT_SECRET, or the generated local secret of the embedded default).`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        count: { type: 'string' },
        pool: { type: 'string', default: 'vpn-statenet' },
        out: { type: 'string', default: 'load-tests/.data/tokens.json' },
        ttl: { type: 'string', default: '12h' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const count = Number(args.count);
  if (!Number.isInteger(count) || count < 1) {
    process.stderr.write(`--count must be a whole number of employees\n${usage}\n`);
    return 2;
  }
  const ttlMatch = /^(\d+)(s|m|h)?$/.exec(args.ttl!);
  if (!ttlMatch) {
    process.stderr.write('--ttl must be seconds or a number with s, m or h (e.g. 12h)\n');
    return 2;
  }
  const ttlSeconds = Number(ttlMatch[1]) * ({ s: 1, m: 60, h: 3600 } as const)[(ttlMatch[2] ?? 's') as 's' | 'm' | 'h'];
  try {
    const config = loadAppConfig();
    const started = Date.now();
    const tokens = await prepareTokens(config, { count, pool: args.pool!, ttlSeconds });
    const out = resolve(args.out!);
    writeTokensFile(out, tokens);
    const spread = tokens.allocation.map((a) => `${a.id} ${a.count}`).join(', ');
    const classes = tokens.priorities.map((p) => `${p.count} of class ${p.class} (employees ${p.from + 1}–${p.from + p.count}, for the pool's headroom)`);
    process.stdout.write(
      `wrote ${count} employee tokens for pool ${tokens.pool} to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s (valid until ${tokens.expiresAt})\n` +
        `agencies: ${spread}\n` +
        (classes.length ? `priority: ${classes.join(', ')}\n` : ''),
    );
    return 0;
  } catch (e) {
    process.stderr.write(`loadtest:prepare: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
