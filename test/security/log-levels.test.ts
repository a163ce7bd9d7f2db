import { Logger, type ArgumentsHost } from '@nestjs/common';
import { BrokerError } from '../../src/errors/error-codes';
import { ProblemFilter } from '../../src/errors/problem.filter';

/** What the exception path logs: refusals at debug/info with their code and no stack, faults at error with one. */
describe('problem filter log levels', () => {
  let calls: { level: string; text: string }[];
  let sent: { status?: number; body?: string };

  beforeEach(() => {
    calls = [];
    for (const level of ['error', 'warn', 'log', 'debug', 'verbose'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation((...args: unknown[]) => void calls.push({ level, text: String(args[0]) }));
    }
  });
  afterEach(() => jest.restoreAllMocks());

  const host = (): ArgumentsHost => {
    sent = {};
    const reply = {
      sent: false,
      header: () => reply,
      status: (s: number) => ((sent.status = s), reply),
      send: (b: string) => ((sent.body = b), reply),
    };
    const req = { url: '/v1/grants?x=1', method: 'POST', routeOptions: { url: '/v1/grants' }, headers: { authorization: 'Bearer secret.token.here' } };
    return { getType: () => 'http', switchToHttp: () => ({ getRequest: () => req, getResponse: () => reply }) } as unknown as ArgumentsHost;
  };

  it.each([
    ['pool-full', 503, 'log'],
    ['store-unavailable', 503, 'log'],
    ['agency-at-maximum', 429, 'debug'],
    ['rate-limited', 429, 'debug'],
    ['token-invalid', 401, 'debug'],
    ['validation-failed', 400, 'debug'],
  ] as const)('%s (%i) → one %s line with its code, no stack', (code, status, level) => {
    new ProblemFilter().catch(new BrokerError(code), host());
    expect(sent.status).toBe(status);
    expect(calls).toEqual([{ level, text: `${status} ${code} POST /v1/grants` }]);
    expect(calls[0]!.text).not.toMatch(/\n\s+at /);
  });

  it('an unexpected error → 500 internal-error, logged once at error with its stack; the token is not logged', () => {
    new ProblemFilter().catch(new TypeError('boom'), host());
    expect(sent.status).toBe(500);
    expect(calls.map((c) => c.level)).toEqual(['error']);
    expect(calls[0]!.text).toMatch(/TypeError: boom\n\s+at /);
    expect(calls.map((c) => c.text).join('\n')).not.toContain('secret.token.here');
    expect(JSON.parse(sent.body!)).toMatchObject({ code: 'internal-error', detail: 'an unexpected error occurred; it has been logged' });
    expect(sent.body).not.toContain('boom');
  });
});
