import { startTestApp, type TestApp } from '../support/test-app';

/** The waiting room through the HTTP API, on both stores: join, place in line, offer on release, claim, leave, bad input. */
describe.each([
  ['embedded store', false],
  ['redis store', true],
] as const)('waiting room over HTTP (%s)', (_name, redis) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ redis });
  });
  afterEach(async () => {
    await t.close();
  });

  const auth = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  const post = async (token: string, url: string, payload?: unknown) => t.app.inject({ method: 'POST', url, headers: auth(token), ...(payload !== undefined ? { payload: payload as object } : {}) });

  it('queues when asked, offers the freed slot to the head of the line, and the claim creates the grant', async () => {
    const alpha = await Promise.all([1, 2, 3, 4, 5].map((i) => t.token({ sub: `a${i}`, agency: 'alpha' })));
    for (const tok of alpha) expect((await post(tok, '/v1/grants', { pool: 'vpn-a' })).statusCode).toBe(201);
    const beta1 = await t.token({ sub: 'b1', agency: 'beta' });
    const held = (await post(beta1, '/v1/grants', { pool: 'vpn-a' })).json();
    const beta2 = await t.token({ sub: 'b2', agency: 'beta' });
    expect((await post(beta2, '/v1/grants', { pool: 'vpn-a' })).json().code).toBe('pool-full');
    const joined = await post(beta2, '/v1/grants', { pool: 'vpn-a', wait: true });
    expect(joined.statusCode).toBe(202);
    const ticket = joined.json();
    expect(joined.headers.location).toBe(`/v1/waiting/${ticket.id}`);
    expect(ticket).toMatchObject({ pool: 'vpn-a', state: 'waiting', position: 1, reason: 'pool-full', priorityClass: 'standard', offer: null });
    const checked = await post(beta2, `/v1/waiting/${ticket.id}/check-in`);
    expect(checked.statusCode).toBe(200);
    expect((await post(beta2, `/v1/waiting/${ticket.id}/claim`)).json().code).toBe('offer-not-ready');
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/grants/${held.id}`, headers: auth(beta1) })).statusCode).toBe(204);
    const offered = (await t.app.inject({ method: 'GET', url: `/v1/waiting/${ticket.id}`, headers: auth(beta2) })).json();
    expect(offered).toMatchObject({ state: 'offered', position: 0, offer: { member: held.member } });
    const claimed = await post(beta2, `/v1/waiting/${ticket.id}/claim`);
    expect(claimed.statusCode).toBe(201);
    expect(claimed.json()).toMatchObject({ id: ticket.id, pool: 'vpn-a', member: held.member, status: 'active' });
    const pool = (await t.app.inject({ method: 'GET', url: '/v1/pools/vpn-a', headers: auth(beta2) })).json();
    expect([pool.active, pool.waiting, pool.offered]).toEqual([6, 0, 0]);
  });

  it('answers bad input on the waiting-room routes with problem+json and changes nothing', async () => {
    const tok = await t.token({ sub: 'e1', agency: 'alpha' });
    const cases: [string, string, string | undefined, number, string][] = [
      ['POST', '/v1/waiting/vpn-a.AAAAAAAAAAAAAAAA/check-in', undefined, 404, 'ticket-not-found'],
      ['POST', '/v1/waiting/vpn-a.AAAAAAAAAAAAAAAA/claim', undefined, 404, 'ticket-not-found'],
      ['DELETE', '/v1/waiting/vpn-a.AAAAAAAAAAAAAAAA', undefined, 404, 'ticket-not-found'],
      ['GET', '/v1/waiting/not-a-ticket', undefined, 400, 'invalid-grant-id'],
      ['GET', '/v1/waiting/nope.AAAAAAAAAAAAAAAA', undefined, 404, 'unknown-pool'],
      ['POST', '/v1/grants', JSON.stringify({ pool: 'vpn-a', wait: 'yes' }), 400, 'validation-failed'],
    ];
    for (const [method, url, payload, status, code] of cases) {
      const res = await t.app.inject({ method: method as 'GET', url, headers: auth(tok), ...(payload ? { payload } : {}) });
      expect([url, res.statusCode, res.headers['content-type'], res.json().code]).toEqual([url, status, 'application/problem+json; charset=utf-8', code]);
    }
    const pool = (await t.app.inject({ method: 'GET', url: '/v1/pools/vpn-a', headers: auth(tok) })).json();
    expect([pool.active, pool.waiting]).toEqual([0, 0]);
    expect((await t.app.inject({ method: 'GET', url: '/v1/waiting/vpn-a.AAAAAAAAAAAAAAAA' })).json().code).toBe('token-missing');
  });
});
