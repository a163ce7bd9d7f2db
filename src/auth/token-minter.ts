import { SignJWT } from 'jose';
import type { AuthConfig } from '../config/broker-config.schema';
import { memberRefPattern } from './claims';

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

/** Why the broker would refuse a token with these claims (src/auth/claims.ts), or null: checked before minting. */
export function tokenClaimsProblem(claims: TokenClaims): string | null {
  const isAgent = (claims.roles ?? []).includes('gateway-agent');
  if (isAgent && !claims.members?.length) return 'a gateway-agent token needs --member <pool>/<member> (one per member it reports for)';
  if (!isAgent && claims.members?.length) return '--member is only for gateway-agent tokens';
  const bad = (claims.members ?? []).filter((m) => !memberRefPattern.test(m));
  if (bad.length) return `--member must look like <pool>/<member>: ${bad.join(', ')}`;
  return null;
}

/**
 * Mints an HS256 token the broker accepts in auth.mode hs256 — for local use,
 * tests and load-test preparation. Production tokens come from the identity provider.
 */
export async function mintToken(claims: TokenClaims, auth: AuthConfig, secret: string): Promise<string> {
  const problem = tokenClaimsProblem(claims);
  if (problem) throw new Error(problem);
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
