import { startTestApp, type TestApp } from '../support/test-app';

describe('security headers on every answer', () => {
  let t: TestApp;
  let auth: Record<string, string>;
  beforeAll(async () => {
    t = await startTestApp();
    auth = { authorization: `Bearer ${await t.token({ sub: 'e-1' })}` };
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(['/', '/ops', '/docs', '/docs/'])('HTML %s: CSP, X-Frame-Options DENY, nosniff', async (url) => {
    const res = await t.app.inject({ method: 'GET', url });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
    expect(res.headers['content-security-policy']).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it.each([
    ['GET', '/v1/grants', 200],
    ['GET', '/v1/pools', 200],
    ['GET', '/v1/pools/nope', 404],
    ['POST', '/v1/grants', 400],
    ['GET', '/docs/openapi.json', 200],
  ] as const)('API %s %s: Cache-Control no-store, nosniff', async (method, url, status) => {
    const res = await t.app.inject({ method, url, headers: { ...auth, 'content-type': 'application/json' }, ...(method === 'POST' ? { payload: '{}' } : {}) });
    expect(res.statusCode).toBe(status);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });

  it('an unauthenticated API refusal is no-store too', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v1/grants' });
    expect([res.statusCode, res.headers['cache-control']]).toEqual([401, 'no-store']);
  });
});
