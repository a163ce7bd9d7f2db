/**
 * Baseline 1 of the benchmark: a Fastify route that does nothing — the
 * framework's ceiling on this machine. PORT on 127.0.0.1.
 */
import Fastify from 'fastify';

async function main(): Promise<void> {
  const app = Fastify({ logger: false });
  app.get('/', async () => ({}));
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
