import 'reflect-metadata';
import cluster from 'node:cluster';
import { createApp } from './app.factory';
import { ConfigError, loadAppConfig } from './config/config.loader';
import { followPrimary, runPrimary } from './workers';

async function main(): Promise<void> {
  let config;
  try {
    config = loadAppConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`telework-broker: ${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  const log = (msg: string) => process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, msg })}\n`);
  if (config.workers > 1 && cluster.isPrimary) {
    // The config loader refused BROKER_WORKERS > 1 without Redis: every worker is a replica on the same store.
    runPrimary(config.workers, log);
    log(`broker primary: ${config.workers} workers on http://${config.host}:${config.port}`);
    return;
  }
  followPrimary();
  const app = await createApp(config);
  for (const s of config.generatedSecrets) log(`${s} is not set: using a generated local secret in ${config.stateDir} (fine for one local instance, never for production)`);
  await app.listen(config.port, config.host);
  log(`broker listening on http://${config.host}:${config.port} (store: ${config.redis ? `redis ${config.redis.mode}` : 'embedded, single replica'}; config: ${config.configFile}; API docs: /docs)`);
}

main().catch((e) => {
  process.stderr.write(`telework-broker: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
