import type { Priority } from '../domain/grant';
import type { Role } from './token-minter';

/** Who is calling, as taken from a verified token. `owner` is the pseudonym; the raw subject stays here only. */
export interface Principal {
  /** Keyed hash of the token subject: what stores, audit and responses see. */
  owner: string;
  agency: string;
  roles: ReadonlySet<Role>;
  /** For gateway agents: the "<pool>/<member>" entries they may act for (never empty for them); empty for every other role. */
  members: ReadonlySet<string>;
  /** Priority class from the token's priority claim or groups (docs/admission.md, "Priority classes"); absent: the default class. */
  priority?: Priority;
}

export function hasRole(p: Principal, ...roles: Role[]): boolean {
  return roles.some((r) => p.roles.has(r));
}
