import { parseArgs } from 'node:util';
import { ConfigError, loadAppConfig } from '../config/config.loader';
import { mintToken, roles, tokenClaimsProblem } from '../auth/token-minter';

const usage = `usage: npm run token -- --sub <employee id> --agency <agency id> [--role employee|operator|gateway-agent]... [--member <pool>/<member>]... [--ttl <seconds>]

A gateway-agent token names the members it acts for (--member, at least one); other roles take none.

Mints a bearer token signed with the broker's HS256 secret (BROKER_JWT_SECRET, or the
generated local secret of the embedded default) for local use and tests. Production
tokens come from the identity provider.`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        sub: { type: 'string' },
        agency: { type: 'string' },
        role: { type: 'string', multiple: true },
        member: { type: 'string', multiple: true },
        ttl: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  if (!args.sub || !args.agency) {
    process.stderr.write(`--sub and --agency are required\n${usage}\n`);
    return 2;
  }
  const bad = (args.role ?? []).filter((r) => !(roles as readonly string[]).includes(r));
  if (bad.length) {
    process.stderr.write(`unknown role(s): ${bad.join(', ')} (known: ${roles.join(', ')})\n`);
    return 2;
  }
  const problem = tokenClaimsProblem({ sub: args.sub, agency: args.agency, roles: args.role ?? ['employee'], ...(args.member ? { members: args.member } : {}) });
  if (problem) {
    process.stderr.write(`${problem}\n`);
    return 2;
  }
  const ttl = args.ttl === undefined ? undefined : Number(args.ttl);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) {
    process.stderr.write('--ttl must be a whole number of seconds\n');
    return 2;
  }
  const config = loadAppConfig();
  if (ttl !== undefined && ttl > config.broker.auth.maxTokenLifetimeSeconds) {
    process.stderr.write(`--ttl is more than auth.maxTokenLifetimeSeconds (${config.broker.auth.maxTokenLifetimeSeconds}): the broker would refuse the token\n`);
    return 2;
  }
  if (config.broker.auth.mode !== 'hs256' || !config.jwtSecret) {
    process.stderr.write(`auth.mode is ${config.broker.auth.mode}: tokens come from the identity provider, not from this command\n`);
    return 2;
  }
  if (!config.broker.agencies.some((a) => a.id === args.agency)) {
    process.stderr.write(`warning: agency "${args.agency}" is not in ${config.configFile}\n`);
  }
  const token = await mintToken(
    { sub: args.sub, agency: args.agency, roles: args.role ?? ['employee'], ...(args.member ? { members: args.member } : {}), ...(ttl ? { ttlSeconds: ttl } : {}) },
    config.broker.auth,
    config.jwtSecret,
  );
  process.stdout.write(token + '\n');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
    process.exit(1);
  },
);
