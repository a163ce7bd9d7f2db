import { Injectable, Logger } from '@nestjs/common';
import { createSecretKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyLike } from 'jose';
import { LRUCache } from 'lru-cache';
import { BrokerError } from '../errors/error-codes';
import { ConfigRepository } from '../repositories/config.repository';
import { PseudonymService } from '../services/pseudonym.service';
import type { Priority } from '../domain/grant';
import { claimsSchema, type VerifiedClaims } from './claims';
import type { Principal } from './principal';
import type { Role } from './token-minter';

/**
 * Verified tokens kept, most recently used first. A client sends the same token with every
 * heartbeat and release, and verifying it (signature, claims, pseudonym) is a large share of
 * a request's CPU (docs/performance.md). Keyed by the whole token string, signature included,
 * so only the exact bytes that verified are ever served; failures are never kept.
 */
/** An entry is kept at most this long, and never past the token's `exp`: a key the identity provider withdraws stops being honoured within it. */
export const TOKEN_CACHE_MAX_AGE_MS = 5 * 60_000;

interface CachedToken {
  readonly principal: Principal;
  /** Epoch ms, the earlier of the token's exp and TOKEN_CACHE_MAX_AGE_MS after verification: not served at or after it. */
  readonly until: number;
}

/** Distinct role sets, member sets and priorities kept for sharing (see Shared); past it, new ones are not shared. */
const SHARED_MAX = 10_000;

/**
 * Values that many principals have alike, one object each: a cache of 60,000 verified tokens
 * otherwise holds 60,000 × (two Sets with their hash tables and a priority object) that are
 * nearly all the same, and every major garbage collection traces them all (docs/performance.md,
 * seventh pass). Principals never change their sets (ReadonlySet), so sharing them is safe.
 */
class Shared<T> {
  private readonly kept = new Map<string, T>();

  of(key: string, make: () => T): T {
    const hit = this.kept.get(key);
    if (hit !== undefined) return hit;
    const made = make();
    if (this.kept.size < SHARED_MAX) this.kept.set(key, made);
    return made;
  }
}

/** Where authenticateRequest keeps a request's outcome, refusals included; gone with the request. */
const AUTH_OUTCOME = Symbol('broker:auth-outcome');

/** Verifies bearer tokens (HS256 secret, a PEM public key, or a JWKS URL) and turns them into a Principal. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private keyPromise: Promise<Uint8Array | KeyLike | JWTVerifyGetKey> | null = null;
  private readonly verified: LRUCache<string, CachedToken>;
  private claims: ReturnType<typeof claimsSchema> | null = null;
  private readonly sets = new Shared<ReadonlySet<string>>();
  private readonly priorities = new Shared<Priority>();

  constructor(
    private readonly config: ConfigRepository,
    private readonly pseudonyms: PseudonymService,
  ) {
    this.verified = new LRUCache<string, CachedToken>({ max: config.get().broker.auth.tokenCacheSize });
  }

  private key(): Promise<Uint8Array | KeyLike | JWTVerifyGetKey> {
    if (!this.keyPromise) {
      const { auth } = this.config.get().broker;
      const algs = auth.algorithms;
      this.keyPromise =
        auth.mode === 'hs256'
          ? // A key object made once: handing jose raw bytes makes it import the secret on every verification.
            Promise.resolve(createSecretKey(Buffer.from(this.config.get().jwtSecret!, 'utf8')))
          : auth.mode === 'public-key'
            ? importSPKI(readFileSync(auth.publicKeyFile!, 'utf8'), algs?.[0] ?? 'RS256')
            : Promise.resolve(createRemoteJWKSet(new URL(auth.jwksUrl!), { cooldownDuration: 30_000 }));
    }
    return this.keyPromise;
  }

  private algorithms(): string[] {
    const { auth } = this.config.get().broker;
    if (auth.algorithms) return auth.algorithms;
    return auth.mode === 'hs256' ? ['HS256'] : ['RS256', 'PS256', 'ES256', 'EdDSA'];
  }

  /** Verifies an Authorization header value. Throws BrokerError token-missing / token-invalid / token-expired. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new BrokerError('token-missing', 'send Authorization: Bearer <token>');
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization.trim());
    if (!match) throw new BrokerError('token-invalid', 'the Authorization header must be "Bearer <JWT>"');
    return this.verify(match[1]!);
  }

  /**
   * authenticate() on the request's Authorization header, once per request: RateLimitGuard and then
   * AuthGuard both ask, and the second gets the first one's outcome, a refusal included, instead of a
   * second header match and token-cache look-up (or, for a refused token, a second verification).
   */
  authenticateRequest(req: { readonly headers: { readonly authorization?: string }; [AUTH_OUTCOME]?: Promise<Principal> }): Promise<Principal> {
    // A property of the request, not a WeakMap entry: an entry per request is an ephemeron for the
    // garbage collector to trace (measured: more CPU per request than the look-up it saves).
    return (req[AUTH_OUTCOME] ??= this.authenticate(req.headers.authorization));
  }

  async verify(token: string): Promise<Principal> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit) {
      if (now < hit.until) return hit.principal;
      this.verified.delete(token);
    }
    const { auth } = this.config.get().broker;
    let payload: JWTPayload;
    try {
      const key = await this.key();
      const options = { issuer: auth.issuer, audience: auth.audience, algorithms: this.algorithms(), clockTolerance: auth.clockToleranceSeconds, requiredClaims: ['exp'] };
      payload =
        typeof key === 'function'
          ? (await jwtVerify(token, key, options)).payload
          : (await jwtVerify(token, key, options)).payload;
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new BrokerError('token-expired', 'the token has expired; get a new one');
      if (e instanceof errors.JOSEError) throw new BrokerError('token-invalid', describeJoseError(e));
      this.logger.error(`token verification failed: ${(e as Error).message}`);
      throw new BrokerError('token-invalid', 'the token could not be verified');
    }
    const principal = this.principalOf(payload);
    // Kept only until exp (without the clock tolerance jose allows: past exp, the next request
    // verifies again and gets jose's answer).
    const until = Math.min(payload.exp! * 1000, now + TOKEN_CACHE_MAX_AGE_MS);
    // Kept as a copy of its own: `token` is a slice of the Authorization header, a second heap object
    // that keeps the whole header alive for as long as the entry. Latin-1 is exact for the token's
    // characters (base64url and dots, checked by authenticate's pattern and by jose).
    if (until > now) this.verified.set(Buffer.from(token, 'latin1').toString('latin1'), { principal, until }, { ttl: until - now });
    return principal;
  }

  private principalOf(payload: JWTPayload): Principal {
    this.claims ??= claimsSchema(this.config.get().broker.auth);
    const parsed = this.claims.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new BrokerError('token-invalid', `the token's "${issue.path.join('.') || 'claims'}" claim is not accepted: ${issue.message}`);
    }
    const c = parsed.data;
    const priority = this.priorityOf(c);
    return {
      owner: this.pseudonyms.of(c.sub),
      agency: c.agency,
      roles: this.sharedSet(c.roles) as ReadonlySet<Role>,
      members: this.sharedSet(c.members),
      priority: this.priorities.of(`${priority.class}\n${priority.rank}`, () => priority),
    };
  }

  /** A set of these values in this order, shared with every principal that has the same. */
  private sharedSet(values: readonly string[]): ReadonlySet<string> {
    return this.sets.of(values.join('\n'), () => new Set(values));
  }

  /**
   * The class the token's priority claim names, if configured; else the highest-ranked class
   * one of its groups maps to; else the default class. Unknown names fall back, never fail.
   */
  private priorityOf(claims: VerifiedClaims): Priority {
    const { priorities } = this.config.get().broker;
    const byName = claims.priority === undefined ? undefined : priorities.classes.find((c) => c.id === claims.priority);
    if (byName) return { class: byName.id, rank: byName.rank };
    const groups = new Set(claims.groups);
    let best: Priority | null = null;
    for (const c of priorities.classes) {
      if (c.groups.some((g) => groups.has(g)) && (!best || c.rank > best.rank)) best = { class: c.id, rank: c.rank };
    }
    return best ?? { class: priorities.default, rank: priorities.classes.find((c) => c.id === priorities.default)?.rank ?? 0 };
  }
}

function describeJoseError(e: InstanceType<typeof errors.JOSEError>): string {
  switch (e.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature does not verify';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `the token's ${(e as InstanceType<typeof errors.JWTClaimValidationFailed>).claim} claim is not accepted`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token is signed with an algorithm that is not accepted';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no key of the identity provider matches the token';
    default:
      return 'the token is malformed or cannot be verified';
  }
}
