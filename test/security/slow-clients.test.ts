import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect, type Socket } from 'node:net';
import { createApp } from '../../src/app.factory';
import { mintToken } from '../../src/auth/token-minter';
import { testConfig } from '../support/test-app';

/**
 * Slow clients cannot hold a connection: with http.requestTimeoutSeconds 2 and headersTimeoutSeconds 1
 * (test/fixtures/timeouts.yaml), a body sent a byte at a time, headers that never end, and an idle
 * kept-alive connection are each closed; the first two with 408 request-timeout as problem+json.
 * The bound asserted is loose on purpose (10 s): it tells "closed" from "held open indefinitely".
 */
const PORT = 21030;

function slowClient(onConnect: (s: Socket) => void): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((ok, fail) => {
    const started = Date.now();
    let text = '';
    const s = connect(PORT, '127.0.0.1', () => onConnect(s));
    s.setEncoding('utf8');
    s.on('data', (d) => (text += d));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? undefined : fail(e)));
    s.on('close', () => ok({ text, closedAfterMs: Date.now() - started }));
    setTimeout(() => {
      s.destroy();
      fail(new Error(`still open after 10 s; got ${JSON.stringify(text.slice(0, 200))}`));
    }, 10_000).unref();
  });
}

describe('slow clients are bounded in time', () => {
  let app: NestFastifyApplication;
  let token: string;
  beforeAll(async () => {
    const config = testConfig({ file: 'timeouts.yaml' });
    app = await createApp(config, { quiet: true });
    await app.listen(PORT, '127.0.0.1');
    token = await mintToken({ sub: 'slow', agency: 'alpha' }, config.broker.auth, config.jwtSecret!);
  });
  afterAll(async () => {
    await app.close();
  });

  it('a body at one byte per 250 ms → 408 request-timeout problem+json, connection closed', async () => {
    const body = JSON.stringify({ pool: 'vpn-a', clientId: 'x'.repeat(200) });
    let timer: NodeJS.Timeout | undefined;
    const res = await slowClient((s) => {
      s.write(`POST /v1/grants HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      let i = 0;
      timer = setInterval(() => (i < body.length && s.writable ? s.write(body[i++]!) : clearInterval(timer)), 250);
    });
    clearInterval(timer);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(res.text).toMatch(/content-type: application\/problem\+json/i);
    expect(res.text).toContain('"code":"request-timeout"');
  });

  it('headers that never end → 408, connection closed', async () => {
    let timer: NodeJS.Timeout | undefined;
    const res = await slowClient((s) => {
      s.write('GET /v1/grants HTTP/1.1\r\nHost: b\r\n');
      timer = setInterval(() => s.writable && s.write('X-Slow: a\r\n'), 200);
    });
    clearInterval(timer);
    expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(res.text).toContain('"code":"request-timeout"');
  });

  it('an idle kept-alive connection is closed after keepAliveTimeoutSeconds', async () => {
    const res = await slowClient((s) => s.write('GET /health/live HTTP/1.1\r\nHost: b\r\n\r\n'));
    expect(res.text).toMatch(/^HTTP\/1\.1 200 /);
  });
});
