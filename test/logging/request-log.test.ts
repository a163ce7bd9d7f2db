import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { addRequestLog } from '../../src/logging/request-log';

describe('request log (onResponse hook)', () => {
  let app: FastifyInstance;
  let lines: Record<string, any>[];

  async function build(slowMs: number, sampleEvery: number): Promise<void> {
    lines = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) });
    app = Fastify();
    addRequestLog(app, pino({ level: 'info' }, sink), { slowMs, sampleEvery });
    app.get('/ok', async () => ({}));
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.get('/full', async (_req, reply) => reply.status(503).send({}));
    app.get('/slow', async () => new Promise((r) => setTimeout(() => r({}), 30)));
    app.get('/health/ready', async () => ({}));
    await app.ready();
  }
  afterEach(() => app.close());

  const get = (url: string, token = 'secret-token-of-someone') => app.inject({ url, headers: { authorization: `Bearer ${token}` } });

  it('logs server errors, never refusals, and nothing of an ordinary request', async () => {
    await build(10_000, 0);
    await get('/ok');
    await get('/full');
    await get('/boom?access_token=abc');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, status: 500, req: { method: 'GET', url: '/boom' }, msg: 'request' });
  });

  it('logs a slow request at warn', async () => {
    await build(20, 0);
    await get('/slow');
    expect(lines.map((l) => [l.level, l.req.url])).toEqual([[40, '/slow']]);
    expect(lines[0]!.ms).toBeGreaterThanOrEqual(20);
  });

  it('samples one ordinary request in N, never a probe, and no header reaches the line', async () => {
    await build(10_000, 3);
    for (let k = 0; k < 9; k++) await get('/ok');
    for (let k = 0; k < 6; k++) await get('/health/ready');
    expect(lines.map((l) => [l.level, l.req.url])).toEqual([[30, '/ok'], [30, '/ok'], [30, '/ok']]);
    expect(JSON.stringify(lines)).not.toContain('secret-token');
  });
});
