import { z } from 'zod';
import type { AuthConfig } from '../config/broker-config.schema';
import { roles as knownRoles, type Role } from './token-minter';

const agencyPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** "<pool>/<member>" as a gateway agent's token names it. */
export const memberRefPattern = /^[a-z0-9][a-z0-9-]{0,62}\/[a-z0-9][a-z0-9-]{0,62}$/;

/** Members one agent token may name: a gateway agent runs on one host, an ops agent on a few hundred at most. */
export const MAX_MEMBERS_PER_TOKEN = 1_000;

/** The claims the broker reads from a verified token, under the names the config gives them. */
export interface VerifiedClaims {
  sub: string;
  agency: string;
  roles: Role[];
  /** "<pool>/<member>" a gateway agent may act for; empty for every other role. */
  members: string[];
  priority?: string;
  groups: string[];
}

/**
 * One schema for what a verified token must look like, per role. Anything that is not of the exact
 * expected shape is refused (token-invalid), never read as "no restriction": a gateway agent's
 * `members` claim must be a non-empty array of "<pool>/<member>" refs, and a token without that
 * role must not carry one. Unknown role names are left out (an identity provider issues roles for
 * other applications too); no known role left means employee.
 */
export function claimsSchema(auth: AuthConfig) {
  const c = auth.claims;
  const maxLifetime = auth.maxTokenLifetimeSeconds;
  const tolerance = auth.clockToleranceSeconds;
  return z
    .object({
      sub: z.string().min(1).max(256),
      exp: z.number().finite(),
      iat: z.number().finite().optional(),
      [c.agency]: z.string().regex(agencyPattern),
      [c.roles]: z.array(z.string().max(200)).max(100).optional(),
      [c.members]: z.array(z.string().regex(memberRefPattern)).min(1).max(MAX_MEMBERS_PER_TOKEN).optional(),
      [c.priority]: z.string().min(1).max(200).optional(),
      [c.groups]: z.union([z.string().max(200), z.array(z.string().max(200)).max(1_000)]).optional(),
    })
    .passthrough()
    .superRefine((raw, ctx) => {
      const p = raw as Record<string, unknown> & { exp: number; iat?: number };
      const nowSeconds = Date.now() / 1000;
      const issued = typeof p.iat === 'number' ? p.iat : nowSeconds;
      if (p.exp - Math.min(issued, nowSeconds) > maxLifetime + tolerance) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['exp'], message: `lives longer than ${maxLifetime} s` });
      }
      const roles = rolesOf(p[c.roles] as string[] | undefined);
      const isAgent = roles.includes('gateway-agent');
      if (isAgent && p[c.members] === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [c.members], message: 'required for gateway agents' });
      }
      if (!isAgent && p[c.members] !== undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [c.members], message: 'only gateway agents carry it' });
      }
    })
    .transform((raw): VerifiedClaims => {
      const p = raw as Record<string, unknown> & { sub: string };
      return {
        sub: p.sub,
        agency: p[c.agency] as string,
        roles: rolesOf(p[c.roles] as string[] | undefined),
        members: (p[c.members] as string[] | undefined) ?? [],
        ...(p[c.priority] !== undefined ? { priority: p[c.priority] as string } : {}),
        groups: typeof p[c.groups] === 'string' ? [p[c.groups] as string] : ((p[c.groups] as string[] | undefined) ?? []),
      };
    });
}

function rolesOf(raw: string[] | undefined): Role[] {
  const list = (raw ?? []).filter((r): r is Role => (knownRoles as readonly string[]).includes(r));
  return list.length ? [...new Set(list)] : ['employee'];
}
