import { SignJWT } from 'jose';
import type { AuthConfig } from '../config/broker-config.schema';

export const roles = ['employee', 'operator', 'gateway-agent'] as const;
export type Role = (typeof roles)[number];

export interface TokenClaims {
  sub: string;
  agency: string;
  roles?: string[];
  /** The members ("<pool>/<member>") a gateway-agent token acts for: required for that role, refused for others (src/auth/claims.ts). */
  members?: string[];
  /** A priority class id (claim auth.claims.priority). */
  priority?: string;
  /** Groups (claim auth.claims.groups), mapped to priority classes by the config. */
  groups?: string[];
  ttlSeconds?: number;
}

/**
 * Mints an HS256 token the broker accepts in auth.mode hs256 — for local use,
 * tests and load-test preparation. Production tokens come from the identity provider.
 */
export async function mintToken(claims: TokenClaims, auth: AuthConfig, secret: string): Promise<string> {
  const body: Record<string, unknown> = { [auth.claims.agency]: claims.agency, [auth.claims.roles]: claims.roles ?? ['employee'] };
  if (claims.members) body[auth.claims.members] = claims.members;
  if (claims.priority) body[auth.claims.priority] = claims.priority;
  if (claims.groups) body[auth.claims.groups] = claims.groups;
  return new SignJWT(body)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setIssuedAt()
    .setExpirationTime(`${claims.ttlSeconds ?? 8 * 3600}s`)
    .sign(new TextEncoder().encode(secret));
}
