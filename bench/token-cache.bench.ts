/**
 * npm run bench:tokens — what the verified-token cache saves per request: CPU per AuthService.verify
 * with every token new to the cache (a cache of 1: what a cache smaller than the tokens in turn
 * gives, e.g. 60,000 clients renewing through a cache of 20,000) against every token a hit.
 *
 *   npm run bench:tokens                 # 20,000 tokens, two rounds each
 *   npm run bench:tokens -- --tokens 5000 --rounds 4
 */
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { AuthService } from '../src/auth/auth.service';
import { mintToken } from '../src/auth/token-minter';
import { loadAppConfig, type AppConfig } from '../src/config/config.loader';
import { ConfigRepository } from '../src/repositories/config.repository';
import { PseudonymService } from '../src/services/pseudonym.service';
import { median } from './lib/stats';

const ROOT = resolve(__dirname, '..');

async function main(): Promise<void> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { tokens: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '2' } } });
  const n = Number(values.tokens);
  const rounds = Number(values.rounds);
  const config = loadAppConfig(
    { BROKER_CONFIG: join(ROOT, 'bench', 'broker.bench.yaml'), BROKER_JWT_SECRET: 'b'.repeat(43), BROKER_PSEUDONYM_KEY: 'p'.repeat(43), BROKER_STATE_DIR: join(ROOT, 'bench-results', 'state'), LOG_LEVEL: 'silent' },
    ROOT,
  );
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) tokens.push(await mintToken({ sub: `emp-${i}`, agency: 'state-chancellery', roles: ['employee'] }, config.broker.auth, config.jwtSecret!));
  const withCache = (size: number): AppConfig => ({ ...config, broker: { ...config.broker, auth: { ...config.broker.auth, tokenCacheSize: size } } });
  const figures: Record<string, number[]> = { miss: [], hit: [] };
  for (const [label, size] of [['miss', 1], ['hit', n]] as const) {
    const repo = new ConfigRepository(withCache(size));
    const auth = new AuthService(repo, new PseudonymService(repo));
    for (const t of tokens) await auth.verify(t); // warm-up: JIT, and the cache filled where it can be
    for (let r = 0; r < rounds; r++) {
      const t0 = process.cpuUsage();
      for (const t of tokens) await auth.verify(t);
      const d = process.cpuUsage(t0);
      figures[label]!.push((d.user + d.system) / n);
    }
  }
  const miss = median(figures.miss!);
  const hit = median(figures.hit!);
  process.stdout.write(`verify, every token new to the cache: ${miss.toFixed(1)} µs CPU (rounds ${figures.miss!.map((x) => x.toFixed(1)).join(', ')})\n`);
  process.stdout.write(`verify, every token cached:           ${hit.toFixed(1)} µs CPU (rounds ${figures.hit!.map((x) => x.toFixed(1)).join(', ')})\n`);
  process.stdout.write(`a miss costs ${(miss / hit).toFixed(0)}x a hit; ${n} tokens, HS256, the bench configuration\n`);
}

main().catch((e) => {
  process.stderr.write(`bench:tokens: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
