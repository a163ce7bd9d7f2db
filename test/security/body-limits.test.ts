import { checkJsonShape, DEFAULT_BODY_LIMITS, ROUTE_BODY_LIMITS } from '../../src/http/body-limits';
import { BrokerError } from '../../src/errors/error-codes';
import { startTestApp, type TestApp } from '../support/test-app';

const codeOf = (text: string, limits = DEFAULT_BODY_LIMITS): string => {
  try {
    checkJsonShape(text, limits);
    return 'ok';
  } catch (e) {
    return e instanceof BrokerError ? e.code : `unexpected: ${String(e)}`;
  }
};

describe('checkJsonShape', () => {
  const limits = { bytes: 1_000, depth: 3, arrayItems: 3 };
  it.each([
    ['{"a":[{"b":1}]}', 'ok'],
    ['{"a":[{"b":[1]}]}', 'nesting-too-deep'],
    ['[1,2,3]', 'ok'],
    ['[1,2,3,4]', 'array-too-long'],
    ['{"a":1,"b":2,"c":3,"d":4,"e":5}', 'ok'], // object members are not array entries
    ['{"s":"[[[[[[,,,,,,"}', 'ok'], // brackets and commas inside strings do not count
    ['{"s":"\\"[[[[[["}', 'ok'], // nor after an escaped quote
    ['{"s":"\\\\"}', 'ok'],
    ['[[1,2],[3,4],[5,6]]', 'ok'],
    [']]]]{{', 'ok'], // not JSON: left for the parser to refuse
    ['"unterminated [[[[[', 'ok'],
  ])('%s → %s', (text, code) => {
    expect(codeOf(text, limits)).toBe(code);
  });

  it('scans a 4 MB bomb of 2,000,000 levels without recursion', () => {
    expect(codeOf('['.repeat(2_000_000) + ']'.repeat(2_000_000), ROUTE_BODY_LIMITS['POST /v1/pools/:pool/members/:member/renewals'])).toBe('nesting-too-deep');
  });
});

describe.each([
  ['embedded store', false],
  ['redis store', true],
] as const)('body limits per route, before parsing (%s)', (_name, redis) => {
  let t: TestApp;
  let headers: Record<string, Record<string, string>>;
  beforeAll(async () => {
    t = await startTestApp({ redis });
    const h = async (claims: Parameters<TestApp['token']>[0]) => ({ authorization: `Bearer ${await t.token(claims)}`, 'content-type': 'application/json' });
    headers = {
      employee: await h({ sub: 'e-1' }),
      operator: await h({ sub: 'op-1', roles: ['operator'] }),
      agent: await h({ sub: 'agent-1', roles: ['gateway-agent'], members: ['vpn-a/gw-1'] }),
    };
  });
  afterAll(async () => {
    await t.close();
  });

  const deep = (levels: number) => '{"a":' + '['.repeat(levels) + ']'.repeat(levels) + '}';
  const bodyRoutes: [string, string, string][] = [
    ['POST', '/v1/grants', 'employee'],
    ['PATCH', '/v1/pools/vpn-a', 'operator'],
    ['PUT', '/v1/pools/vpn-a/members/gw-1/state', 'operator'],
    ['POST', '/v1/pools/vpn-a/members/gw-1/failures', 'agent'],
    ['POST', '/v1/pools/vpn-a/members/gw-1/renewals', 'agent'],
    ['DELETE', '/v1/pools/vpn-a/overrides', 'operator'],
  ];

  it.each(bodyRoutes)('%s %s: 1,300 levels (2.6 KB) → 400 nesting-too-deep', async (method, url, who) => {
    const res = await t.app.inject({ method: method as 'POST', url, headers: headers[who]!, payload: deep(1_300) });
    expect([res.statusCode, res.json().code]).toEqual([400, 'nesting-too-deep']);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('a 4 MB body of 2,000,000 levels on renewals → 400 nesting-too-deep, and the next request is answered', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/renewals', headers: headers.agent!, payload: '['.repeat(2_000_000) + ']'.repeat(2_000_000) });
    expect([res.statusCode, res.json().code]).toEqual([400, 'nesting-too-deep']);
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('an array longer than the route allows → 413 array-too-long', async () => {
    const grants = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: headers.employee!, payload: JSON.stringify({ pool: 'vpn-a', x: Array(1_001).fill(0) }) });
    expect([grants.statusCode, grants.json().code]).toEqual([413, 'array-too-long']);
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `vpn-a.${String(i).padStart(16, 'A')}`);
    const renewals = await t.app.inject({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/renewals', headers: headers.agent!, payload: { active: ids(20_001) } });
    expect([renewals.statusCode, renewals.json().code]).toEqual([413, 'array-too-long']);
  });

  it('a bulk renewal of 20,000 ids (about 480 KB) is within its route limits', async () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `vpn-a.${String(i).padStart(16, 'A')}`);
    const res = await t.app.inject({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/renewals', headers: headers.agent!, payload: { active: ids } });
    expect(res.statusCode).toBe(200);
  });

  it('a body over the route size → 413 payload-too-large (64 KB default, 4 MB renewals)', async () => {
    const big = await t.app.inject({ method: 'POST', url: '/v1/grants', headers: headers.employee!, payload: JSON.stringify({ pool: 'vpn-a', clientId: 'x'.repeat(70_000) }) });
    expect([big.statusCode, big.json().code]).toEqual([413, 'payload-too-large']);
    const huge = await t.app.inject({ method: 'POST', url: '/v1/pools/vpn-a/members/gw-1/renewals', headers: headers.agent!, payload: JSON.stringify({ active: ['x'.repeat(4 * 1024 * 1024)] }) });
    expect([huge.statusCode, huge.json().code]).toEqual([413, 'payload-too-large']);
  });
});
