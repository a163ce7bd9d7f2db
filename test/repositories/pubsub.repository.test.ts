import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { AppConfig } from '../../src/config/config.loader';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { PubSubRepository, type LiveEnvelope } from '../../src/repositories/pubsub.repository';
import { startRedisServer, type RedisServer } from './redis/redis-test-utils';

const REDIS_URL = 'redis://127.0.0.1:6379';

function repo(redisUrl: string | null, prefix: string): PubSubRepository {
  return new PubSubRepository(
    new ConfigRepository({ redis: redisUrl ? { mode: 'standalone', url: redisUrl } : null, redisUrl, redisKeyPrefix: prefix } as AppConfig),
  );
}

function next(r: PubSubRepository, n = 1): Promise<LiveEnvelope[]> {
  return new Promise((resolve) => {
    const got: LiveEnvelope[] = [];
    const off = r.onMessage((m) => {
      got.push(m);
      if (got.length === n) {
        off();
        resolve(got);
      }
    });
  });
}

describe('PubSubRepository', () => {
  it('in process: a message reaches listeners of the same process, with the sender as origin', async () => {
    const r = repo(null, 'unused:');
    expect(r.mode).toBe('in-process');
    await r.start();
    const got = next(r);
    await r.publish({ topic: 'capacity', event: 'pool', data: { id: 'p' } });
    expect(await got).toEqual([{ topic: 'capacity', event: 'pool', data: { id: 'p' }, origin: r.origin }]);
    await r.onApplicationShutdown();
  });

  describe('on Redis', () => {
    const prefix = `test:${randomUUID()}:`;
    let a: PubSubRepository;
    let b: PubSubRepository;
    let other: PubSubRepository;

    beforeAll(async () => {
      a = repo(REDIS_URL, prefix);
      b = repo(REDIS_URL, prefix);
      other = repo(REDIS_URL, `test:${randomUUID()}:`);
      await Promise.all([a.start(), b.start(), other.start()]);
    });

    afterAll(async () => {
      await Promise.all([a, b, other].map((r) => r.onApplicationShutdown()));
    });

    it('a message published by replica A reaches replica B and A itself, in order', async () => {
      expect(a.mode).toBe('redis');
      const atB = next(b, 2);
      const atA = next(a, 2);
      await a.publish({ topic: 'capacity', event: 'pool', data: { n: 1 } });
      await a.publish({ topic: 'grants', event: 'grant', data: { n: 2 }, owner: 'pseudonym-1' });
      for (const got of [await atB, await atA]) {
        expect(got.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }]);
        expect(got[1]).toMatchObject({ owner: 'pseudonym-1', origin: a.origin });
      }
    });

    it('deployments with another key prefix do not hear each other', async () => {
      const heard: LiveEnvelope[] = [];
      const off = other.onMessage((m) => heard.push(m));
      const atB = next(b);
      await a.publish({ topic: 'capacity', event: 'pool', data: {} });
      await atB;
      // `other` subscribed before A published, and Redis delivers in order on one connection: a marker
      // published on other's channel afterwards arrives, the earlier message never does.
      const marker = next(other);
      await other.publish({ topic: 'marker', event: 'm', data: {} });
      await marker;
      off();
      expect(heard.map((m) => m.topic)).toEqual(['marker']);
    });

    it('a publish while Redis is unreachable is dropped, not thrown', async () => {
      const dead = repo('redis://127.0.0.1:6409', prefix);
      await expect(dead.publish({ topic: 'capacity', event: 'pool', data: {} })).resolves.toBeUndefined();
      await dead.onApplicationShutdown();
    });
  });

  describe('owners watched (a message for an owner goes out only while someone listens)', () => {
    const prefix = `test:${randomUUID()}:`;
    const started: PubSubRepository[] = [];
    async function replica(): Promise<PubSubRepository> {
      const r = repo(REDIS_URL, prefix);
      started.push(r);
      await r.start();
      return r;
    }
    /** Waits until `r` has heard everything published on the channel before now: a marker of its own comes back. */
    async function settled(r: PubSubRepository): Promise<void> {
      const back = next(r);
      await r.publish({ topic: 'marker', event: 'm', data: {} });
      await back;
    }
    afterAll(() => Promise.all(started.map((r) => r.onApplicationShutdown())));
    /**
     * `from` publishes a marker of its own and `to` waits for exactly that one: then `to` has heard
     * everything `from` published before (one connection keeps the order). Waiting for any next
     * message could end on another replica's older marker still in flight.
     */
    async function heardFrom(to: PubSubRepository, from: PubSubRepository): Promise<void> {
      const id = randomUUID();
      const heard = new Promise<void>((resolve) => {
        const off = to.onMessage((m) => {
          if (m.event !== id) return;
          off();
          resolve();
        });
      });
      await from.publish({ topic: 'marker', event: id, data: {} });
      await heard;
    }

    it('in process: watched while a local connection listens, and only then', async () => {
      const r = repo(null, 'unused:');
      expect(r.watched('p-1')).toBe(false);
      await r.watch('p-1');
      await r.watch('p-1');
      r.unwatch('p-1');
      expect(r.watched('p-1')).toBe(true);
      r.unwatch('p-1');
      expect(r.watched('p-1')).toBe(false);
      await r.onApplicationShutdown();
    });

    it('on Redis: another replica hears of a watch and of its end; a replica started later asks and learns', async () => {
      const a = await replica();
      const b = await replica();
      expect(b.watched('p-2')).toBe(false);
      await a.watch('p-2');
      // A's announcement went out before A's marker, on the same connection.
      await heardFrom(b, a);
      expect(b.watched('p-2')).toBe(true);
      expect(b.watched('p-other')).toBe(false);

      const c = await replica(); // says hello; A answers with what it watches
      const deadline = Date.now() + 2000;
      while (!c.watched('p-2') && Date.now() < deadline) await settled(c);
      expect(c.watched('p-2')).toBe(true);

      a.unwatch('p-2');
      await heardFrom(b, a);
      expect(b.watched('p-2')).toBe(false);
    });

    it('a replica that shuts down takes its watches with it', async () => {
      const a = await replica();
      const b = await replica();
      await a.watch('p-3');
      await heardFrom(b, a);
      expect(b.watched('p-3')).toBe(true);
      await a.onApplicationShutdown();
      started.splice(started.indexOf(a), 1);
      const deadline = Date.now() + 2000;
      while (b.watched('p-3') && Date.now() < deadline) await settled(b);
      expect(b.watched('p-3')).toBe(false);
    });
  });

  describe('when the subscriber connection drops (own redis-server on 127.0.0.1:23379)', () => {
    let server: RedisServer;
    let admin: Redis;
    const prefix = `test:${randomUUID()}:`;
    const url = 'redis://127.0.0.1:23379';
    /** The subscriber connection of a repository (private: the tests need its 'ready' event). */
    const subOf = (r: PubSubRepository) => (r as unknown as { sub: Redis }).sub;
    const dropSubscribers = () => admin.client('KILL', 'TYPE', 'pubsub');

    beforeAll(async () => {
      server = await startRedisServer(23379);
      admin = new Redis(url);
    });
    afterAll(async () => {
      admin.disconnect();
      await server.stop();
    });

    it('subscribes again after the reconnect: messages keep arriving', async () => {
      const a = repo(url, prefix);
      const b = repo(url, prefix);
      await Promise.all([a.start(), b.start()]);
      const back = new Promise((r) => subOf(b).once('ready', r));
      await dropSubscribers();
      await back;
      // The new SUBSCRIBE may still be on its way: publish until one message comes through.
      let heard = false;
      const off = b.onMessage(() => (heard = true));
      while (!heard) {
        await a.publish({ topic: 'capacity', event: 'pool', data: {} });
        await new Promise((r) => setImmediate(r));
      }
      off();
      await Promise.all([a.onApplicationShutdown(), b.onApplicationShutdown()]);
    });

    it('a shutdown right after a reconnect leaves no unhandled rejection (the health-suite flake "Connection is closed")', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      try {
        const r = repo(url, prefix);
        await r.start();
        const sub = subOf(r);
        const closed = new Promise((resolve) => sub.once('end', resolve));
        // Shut down while the new connection's ready check (INFO) is on its way: its answer still
        // arrives, and the subscription is then renewed on a connection that is closing.
        const readyCheck = sub.info.bind(sub) as (...a: unknown[]) => unknown;
        (sub as unknown as { info: (...a: unknown[]) => unknown }).info = (...a: unknown[]) => {
          const sent = readyCheck(...a);
          void r.onApplicationShutdown();
          return sent;
        };
        await dropSubscribers();
        await closed;
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
});
