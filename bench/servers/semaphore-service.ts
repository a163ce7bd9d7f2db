/**
 * Baseline 2 of the benchmark: what an engineer would otherwise build — a
 * small Fastify service counting sessions with a redis-semaphore on the same
 * Redis. POST /leases acquires a slot (201 with its id, 503 when full);
 * DELETE /leases/:id releases it. No authentication, no agencies, no members,
 * no guarantees: only the count.
 *
 * PORT, REDIS_PORT, LIMIT (slots), PREFILL (slots taken at start, so the
 * measurement runs with the semaphore as full as the broker's pool).
 */
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { Semaphore } from 'redis-semaphore';

const KEY = 'bench-semaphore-vpn'; // bench/run.ts deletes it afterwards

async function main(): Promise<void> {
  const limit = Number(process.env.LIMIT);
  const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT) });
  // Slots live 10 minutes: longer than the measurement, so none expires during it.
  const options = { lockTimeout: 600_000, acquireAttemptsLimit: 1, refreshInterval: 0 };

  const prefill = Number(process.env.PREFILL ?? 0);
  for (let done = 0; done < prefill; ) {
    const n = Math.min(1000, prefill - done);
    const ok = await Promise.all(Array.from({ length: n }, () => new Semaphore(redis, KEY, limit, options).tryAcquire()));
    if (ok.some((x) => !x)) throw new Error('prefill: the semaphore refused a slot');
    done += n;
  }

  const app = Fastify({ logger: false });
  app.get('/ready', async () => ({ ok: true }));
  app.post('/leases', async (_req, reply) => {
    const sem = new Semaphore(redis, KEY, limit, options);
    if (!(await sem.tryAcquire())) return reply.code(503).send({ code: 'pool-full' });
    return reply.code(201).send({ id: sem.identifier });
  });
  app.delete<{ Params: { id: string } }>('/leases/:id', async (req, reply) => {
    await new Semaphore(redis, KEY, limit, { ...options, identifier: req.params.id, acquiredExternally: true }).release();
    return reply.code(204).send();
  });
  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.once('SIGTERM', () => void app.close().then(() => redis.quit()).then(() => process.exit(0)));
}

main().catch((e) => {
  process.stderr.write(`semaphore-service: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
