import type { PoolSpec } from './pool-spec';

/*
 * The maximum session duration (docs/admission.md, "Maximum session duration"):
 * a lease is never renewed past createdAt + maxSessionMs. The Lua scripts
 * restate these two rules in lua/includes/spec.lua.
 */

/** Expiry of a lease created now: its TTL from now, never past now + maxSessionMs. */
export function firstExpiry(spec: Pick<PoolSpec, 'maxSessionMs'>, ttlMs: number, now: number): number {
  return now + (spec.maxSessionMs === undefined ? ttlMs : Math.min(ttlMs, spec.maxSessionMs));
}

/** Expiry of a lease renewed now: its own TTL from now, never past createdAt + maxSessionMs, never earlier than it already was. */
export function renewedExpiry(spec: Pick<PoolSpec, 'maxSessionMs'>, lease: { createdAt: number; expiresAt: number; ttlMs: number }, now: number): number {
  let expires = now + lease.ttlMs;
  if (spec.maxSessionMs !== undefined) expires = Math.min(expires, lease.createdAt + spec.maxSessionMs);
  return Math.max(expires, lease.expiresAt);
}
