import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect } from 'node:net';
import { createApp } from '../../src/app.factory';
import { fromFastifyCode } from '../../src/errors/problem.filter';
import { testConfig, deleteKeys } from '../support/test-app';

/** Raw HTTP/1.1 over a socket: the probes a client library would not let us send. */
function raw(port: number, text: string): Promise<{ status: number; type: string; body: Record<string, unknown> | null; text: string }> {
  return new Promise((ok, fail) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.setEncoding('latin1');
    s.on('data', (d) => (out += d));
    s.on('error', fail);
    s.on('close', () => {
      const [head = '', ...rest] = out.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const type = /^content-type: *(.*)$/im.exec(head)?.[1] ?? '';
      const bodyText = rest.join('\r\n\r\n');
      let body: Record<string, unknown> | null = null;
      try {
        body = JSON.parse(bodyText);
      } catch {
        body = null;
      }
      ok({ status, type, body, text: out });
    });
  });
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: broker\r\n${extra}Connection: close\r\n\r\n`;

/** Every probe answers problem+json with a 4xx and a stable code; none is a 500. */
const probes: [string, string, number, string][] = [
  ['a bad percent-encoding in the path (FST_ERR_BAD_URL)', get('/v1/pools/%E0%A4%A'), 400, 'malformed-url'],
  ['an over-long path parameter (FST_ERR_MAX_PARAM_LENGTH)', get(`/v1/pools/${'a'.repeat(200)}`), 414, 'path-parameter-too-long'],
  ['headers over the size limit (HPE_HEADER_OVERFLOW → 431)', get('/health/live', `X-Big: ${'a'.repeat(20_000)}\r\n`), 431, 'headers-too-large'],
  ['a method Fastify has no route for (PROPFIND)', 'PROPFIND /v1/grants HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n', 404, 'route-not-found'],
  ['TRACE', 'TRACE /v1/grants HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n', 404, 'route-not-found'],
  ['a method HTTP does not know (HPE_INVALID_METHOD)', 'FOO /v1/grants HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n', 400, 'malformed-request'],
  ['Content-Length and Transfer-Encoding together (request smuggling framing)', 'POST /v1/grants HTTP/1.1\r\nHost: b\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, 'malformed-request'],
  ['a bad chunk size', 'POST /v1/grants HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400, 'malformed-request'],
  ['no request line at all', 'HELLO\r\n\r\n', 400, 'malformed-request'],
  ['an HTTP/1.1 request without Host', 'GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'malformed-request'],
  ['/docs/../metrics (dot segments under the static /docs)', get('/docs/../metrics'), 404, 'route-not-found'],
  ['/docs/%2e%2e/metrics', get('/docs/%2e%2e/metrics'), 404, 'route-not-found'],
  ['/docs/../../etc/passwd', get('/docs/../../etc/passwd'), 404, 'route-not-found'],
  ['a file /docs does not have', get('/docs/nope.js'), 404, 'route-not-found'],
  ['an unknown route', get('/v2/anything'), 404, 'route-not-found'],
];

describe.each([
  ['embedded store', false, 21010],
  ['redis store', true, 21011],
] as const)('framework errors answer problem+json, never a 500 (%s)', (_name, redis, port) => {
  let app: NestFastifyApplication;
  const config = testConfig({ redis });
  beforeAll(async () => {
    app = await createApp(config, { quiet: true });
    await app.listen(port, '127.0.0.1');
  });
  afterAll(async () => {
    await app.close();
    if (config.redis) await deleteKeys(config.redisKeyPrefix);
  });

  it.each(probes)('%s → %i %s', async (_n, request, status, code) => {
    const res = await raw(port, request);
    expect([res.status, res.body?.code]).toEqual([status, code]);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, type: `urn:telework-broker:problem:${code}` });
  });
});

describe("Fastify's client-facing error codes", () => {
  // Raised while the server starts or a route is registered, never in answer to a client.
  const startUpOnly = new Set(['FST_ERR_CTP_INSTANCE_ALREADY_STARTED', 'FST_ERR_INVALID_URL', 'FST_ERR_ROUTE_MISSING_CONTENT_TYPE', 'FST_ERR_ROUTE_MISSING_CONTENT']);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fastifyErrors = require('fastify/lib/errors.js') as Record<string, unknown>;
  const clientFacing = Object.entries(fastifyErrors).flatMap(([code, ctor]) => {
    if (typeof ctor !== 'function' || startUpOnly.has(code)) return [];
    try {
      const e = new (ctor as new (...a: string[]) => { statusCode?: number })('a', 'b', 'c');
      return e.statusCode !== undefined && e.statusCode < 500 ? [[code, e.statusCode] as const] : [];
    } catch {
      return [];
    }
  });

  it('finds them in node_modules/fastify/lib/errors.js', () => {
    expect(clientFacing.map(([c]) => c)).toEqual(expect.arrayContaining(['FST_ERR_BAD_URL', 'FST_ERR_MAX_PARAM_LENGTH', 'FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_MEDIA_TYPE']));
  });

  it.each(clientFacing)('maps %s (Fastify status %i) to a code of the same status', (code, status) => {
    const mapped = fromFastifyCode(code);
    expect(mapped?.status).toBe(status);
  });

  it.each(['ERR_HTTP_REQUEST_TIMEOUT', 'HPE_HEADER_OVERFLOW', 'HPE_INVALID_METHOD', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'HPE_INVALID_CHUNK_SIZE'])('maps the HTTP parser error %s to a 4xx', (code) => {
    const mapped = fromFastifyCode(code);
    expect(mapped!.status).toBeGreaterThanOrEqual(400);
    expect(mapped!.status).toBeLessThan(500);
  });
});
