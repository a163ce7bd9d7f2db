import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { AuthService } from '../../src/auth/auth.service';
import { brokerConfigSchema } from '../../src/config/broker-config.schema';
import type { AppConfig } from '../../src/config/config.loader';
import { BrokerError } from '../../src/errors/error-codes';
import { ConfigRepository } from '../../src/repositories/config.repository';
import { PseudonymService } from '../../src/services/pseudonym.service';

const pools = [{ id: 'p', kind: 'vpn', members: [{ id: 'm', maxSessions: 1 }] }];
const agencies = [{ id: 'alpha', pools: { p: { maximum: 1 } } }];

function service(auth: Record<string, unknown>, jwtSecret: string | null = null): AuthService {
  const broker = brokerConfigSchema.parse({ auth: { issuer: 'idp', audience: 'broker', ...auth }, pools, agencies });
  const app = { broker, jwtSecret, pseudonymKey: 'k'.repeat(40) } as unknown as AppConfig;
  const config = new ConfigRepository(app);
  return new AuthService(config, new PseudonymService(config));
}

const sign = (key: KeyLike | Uint8Array, alg: string, claims: Record<string, unknown> = {}, kid?: string) =>
  new SignJWT({ agency: 'alpha', roles: ['operator'], ...claims })
    .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
    .setSubject('emp-1')
    .setIssuer('idp')
    .setAudience('broker')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'accepted';
  } catch (e) {
    return e instanceof BrokerError ? e.code : `unexpected: ${String(e)}`;
  }
}

describe('AuthService', () => {
  it('verifies HS256 tokens and pseudonymises the subject', async () => {
    const secret = 's'.repeat(40);
    const auth = service({ mode: 'hs256' }, secret);
    const p = await auth.authenticate(`Bearer ${await sign(new TextEncoder().encode(secret), 'HS256')}`);
    expect(p.agency).toBe('alpha');
    expect([...p.roles]).toEqual(['operator']);
    expect(p.owner).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(p.owner).not.toContain('emp-1');
    expect(p.owner).toBe(new PseudonymService(new ConfigRepository({ pseudonymKey: 'k'.repeat(40) } as AppConfig)).of('emp-1'));
    expect(await codeOf(auth.authenticate(`Bearer ${await sign(new TextEncoder().encode('x'.repeat(40)), 'HS256')}`))).toBe('token-invalid');
  });

  it('gives principals with the same roles, members and priority one shared set or object each, and others their own', async () => {
    const secret = 's'.repeat(40);
    const key = new TextEncoder().encode(secret);
    const auth = service({ mode: 'hs256' }, secret);
    const of = async (claims: Record<string, unknown>, sub: string) =>
      auth.verify(await new SignJWT({ agency: 'alpha', ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuer('idp').setAudience('broker').setExpirationTime('10m').sign(key));
    const a = await of({ roles: ['operator', 'employee'] }, 'emp-1');
    const b = await of({ roles: ['operator', 'employee'] }, 'emp-2');
    const c = await of({ roles: ['employee', 'operator'] }, 'emp-3');
    const agent = await of({ roles: ['gateway-agent'], members: ['p/m'] }, 'agent-1');
    expect(a.owner).not.toBe(b.owner);
    expect(b.roles).toBe(a.roles);
    expect(b.members).toBe(a.members);
    expect(b.priority).toBe(a.priority);
    // Another order is another set (its iteration order is kept), with the same members.
    expect(c.roles).not.toBe(a.roles);
    expect([...c.roles]).toEqual(['employee', 'operator']);
    expect([...a.roles]).toEqual(['operator', 'employee']);
    expect([...agent.roles]).toEqual(['gateway-agent']);
    expect([...agent.members]).toEqual(['p/m']);
    expect([...a.members]).toEqual([]);
  });

  it('verifies tokens against a PEM public key, and refuses HS256 tokens there (algorithm confusion)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const dir = mkdtempSync(join(tmpdir(), 'broker-auth-'));
    const pem = join(dir, 'idp.pem');
    writeFileSync(pem, await exportSPKI(publicKey));
    const auth = service({ mode: 'public-key', publicKeyFile: pem, algorithms: ['ES256'] });
    expect((await auth.verify(await sign(privateKey, 'ES256'))).agency).toBe('alpha');
    expect(await codeOf(auth.verify(await sign(new TextEncoder().encode(await exportSPKI(publicKey)), 'HS256')))).toBe('token-invalid');
  });

  describe('with a JWKS URL', () => {
    let server: Server;
    let url: string;
    let privateKey: KeyLike;
    beforeAll(async () => {
      const pair = await generateKeyPair('RS256');
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
      server = createServer((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      const addr = server.address() as { port: number };
      url = `http://127.0.0.1:${addr.port}/jwks.json`;
    });
    afterAll(() => new Promise((ok) => server.close(ok)));

    it('accepts a token signed with a key of the set and refuses one with an unknown key id', async () => {
      const auth = service({ mode: 'jwks', jwksUrl: url });
      expect((await auth.verify(await sign(privateKey, 'RS256', {}, 'key-1'))).roles.has('operator')).toBe(true);
      const other = await generateKeyPair('RS256');
      expect(await codeOf(auth.verify(await sign(other.privateKey, 'RS256', {}, 'key-2')))).toBe('token-invalid');
    });
  });

  it('names what is wrong with a token', async () => {
    const secret = 's'.repeat(40);
    const auth = service({ mode: 'hs256' }, secret);
    const key = new TextEncoder().encode(secret);
    expect(await codeOf(auth.authenticate(undefined))).toBe('token-missing');
    expect(await codeOf(auth.authenticate('Bearer not.a-token'))).toBe('token-invalid');
    expect(await codeOf(auth.verify(await sign(key, 'HS256', { agency: 'Not An Id' })))).toBe('token-invalid');
    const expired = await new SignJWT({ agency: 'alpha' }).setProtectedHeader({ alg: 'HS256' }).setSubject('e').setIssuer('idp').setAudience('broker').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    expect(await codeOf(auth.verify(expired))).toBe('token-expired');
    const wrongIssuer = await new SignJWT({ agency: 'alpha' }).setProtectedHeader({ alg: 'HS256' }).setSubject('e').setIssuer('other').setAudience('broker').setExpirationTime('5m').sign(key);
    expect(await codeOf(auth.verify(wrongIssuer))).toBe('token-invalid');
    // Unknown roles are ignored; no role at all means employee.
    expect([...(await auth.verify(await sign(key, 'HS256', { roles: ['root'] }))).roles]).toEqual(['employee']);
  });

  describe('verified-token cache', () => {
    const secret = 's'.repeat(40);
    const key = new TextEncoder().encode(secret);
    const T0 = Date.parse('2026-11-23T08:00:00Z');
    // Signs with iat/exp on the faked clock (jose reads it too).
    const signAt = (expiresIn: string, k: Uint8Array = key) =>
      new SignJWT({ agency: 'alpha' }).setProtectedHeader({ alg: 'HS256' }).setSubject('emp-1').setIssuer('idp').setAudience('broker').setIssuedAt().setExpirationTime(expiresIn).sign(k);
    let auth: AuthService;
    let verifications: jest.SpyInstance;

    beforeEach(() => {
      jest.useFakeTimers({ now: T0, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      auth = service({ mode: 'hs256' }, secret);
      // Every full verification ends in one pseudonymisation of the subject; a cache hit makes none.
      verifications = jest.spyOn(PseudonymService.prototype, 'of');
    });
    afterEach(() => {
      jest.useRealTimers();
      jest.restoreAllMocks();
    });

    it('serves a token that verified from the cache, the same principal', async () => {
      const token = await signAt('10m');
      const first = await auth.verify(token);
      const again = await auth.authenticate(`Bearer ${token}`);
      expect(again).toEqual(first);
      expect(verifications).toHaveBeenCalledTimes(1);
    });

    it('never serves an expired token: at exp it is verified again and, past the clock tolerance, refused', async () => {
      const token = await signAt('1m');
      await auth.verify(token);
      jest.advanceTimersByTime(59_000);
      await auth.verify(token);
      expect(verifications).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(1_000); // exactly exp: within jose's 5 s tolerance, but not from the cache
      await auth.verify(token);
      expect(verifications).toHaveBeenCalledTimes(2);
      jest.advanceTimersByTime(6_000); // past exp + tolerance
      expect(await codeOf(auth.verify(token))).toBe('token-expired');
      expect(await codeOf(auth.authenticate(`Bearer ${token}`))).toBe('token-expired');
      expect(verifications).toHaveBeenCalledTimes(2);
    });

    it('keeps an entry at most five minutes, however long the token lives', async () => {
      const token = await signAt('2h');
      await auth.verify(token);
      jest.advanceTimersByTime(5 * 60_000 - 1);
      await auth.verify(token);
      expect(verifications).toHaveBeenCalledTimes(1);
      jest.advanceTimersByTime(1);
      await auth.verify(token);
      expect(verifications).toHaveBeenCalledTimes(2);
    });

    it('never serves a forged token: the same claims with another signature, or signed with another key, are refused', async () => {
      const token = await signAt('10m');
      await auth.verify(token);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const flipped = signature[0] === 'A' ? 'B' : 'A';
      expect(await codeOf(auth.verify(`${header}.${payload}.${flipped}${signature.slice(1)}`))).toBe('token-invalid');
      expect(await codeOf(auth.verify(`${header}.${payload}.`))).toBe('token-invalid');
      expect(await codeOf(auth.verify(await signAt('10m', new TextEncoder().encode('x'.repeat(40)))))).toBe('token-invalid');
      // A refused token is not kept either: asking again is refused again.
      const forged = `${header}.${payload}.${flipped}${signature.slice(1)}`;
      expect(await codeOf(auth.verify(forged))).toBe('token-invalid');
      expect(verifications).toHaveBeenCalledTimes(1);
    });

    it('refuses a token without an expiry, every time', async () => {
      const token = await new SignJWT({ agency: 'alpha' }).setProtectedHeader({ alg: 'HS256' }).setSubject('emp-1').setIssuer('idp').setAudience('broker').sign(key);
      expect(await codeOf(auth.verify(token))).toBe('token-invalid');
      expect(await codeOf(auth.verify(token))).toBe('token-invalid');
    });

    it('refuses a token that lives longer than auth.maxTokenLifetimeSeconds (default one day)', async () => {
      const long = await new SignJWT({ agency: 'alpha' }).setProtectedHeader({ alg: 'HS256' }).setSubject('emp-1').setIssuer('idp').setAudience('broker').setIssuedAt().setExpirationTime('25h').sign(key);
      expect(await codeOf(auth.verify(long))).toBe('token-invalid');
      const day = await new SignJWT({ agency: 'alpha' }).setProtectedHeader({ alg: 'HS256' }).setSubject('emp-1').setIssuer('idp').setAudience('broker').setIssuedAt().setExpirationTime('24h').sign(key);
      expect(await codeOf(auth.verify(day))).toBe('accepted');
    });
  });
});
