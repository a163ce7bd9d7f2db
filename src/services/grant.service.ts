import { Inject, Injectable } from '@nestjs/common';
import { hasRole, type Principal } from '../auth/principal';
import { GRANT_ID, newGrantId, type BulkRenewResult, type ExpiredLease, type Grant, type GrantResult, type MemberLease, type WaitTicket } from '../domain/grant';
import { BrokerError } from '../errors/error-codes';
import { ConfigRepository } from '../repositories/config.repository';
import { LEASE_STORE, type LeaseResult, type LeasePort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';
import { failureError, refusalError, storeCall } from './lease-errors';

/** What an agent is answered: counts and the ids it reported that are no leases of the member. */
export type BulkRenewCounts = Omit<BulkRenewResult, 'releasedLeases' | 'expiredLeases'>;

export type GrantOutcome =
  | { grant: Grant; outcome: 'created' | 'reconnected' | 'replayed' }
  /** The employee waits in line (asked to, or over the admission rate): check in at /v1/waiting/{ticket.id}. */
  | { ticket: WaitTicket; outcome: 'queued' };

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{8,128}$/;

/** The grant lifecycle: admission, renewal, release, reads and agents' bulk renewal. */
@Injectable()
export class GrantService {
  constructor(
    @Inject(LEASE_STORE) private readonly store: LeasePort,
    private readonly events: BrokerEvents,
    private readonly config: ConfigRepository,
  ) {}

  async request(who: Principal, pool: string, clientId: string | undefined, idempotencyKey: string | undefined, wait = false): Promise<GrantOutcome> {
    if (!hasRole(who, 'employee', 'operator')) throw new BrokerError('forbidden', 'gateway agents cannot hold sessions');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BrokerError('invalid-idempotency-key', 'Idempotency-Key must be 8–128 characters of letters, digits, ".", "_", ":" or "-"', {
        errors: [{ path: 'header:idempotency-key', message: 'must match ^[A-Za-z0-9._:-]{8,128}$' }],
      });
    }
    const t0 = performance.now();
    const result = this.unwrap(
      await this.call('grant', () =>
        this.store.grant({
          pool,
          owner: who.owner,
          agency: who.agency,
          clientId: clientId ?? 'default',
          newGrantId: newGrantId(pool),
          ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
          ...(who.priority ? { priority: who.priority } : {}),
          ...(wait ? { wait } : {}),
        }),
      ),
    );
    const durationMs = performance.now() - t0;
    this.emitExpired(result.expired);
    if (result.outcome === 'refused') {
      this.events.emit('refused', { pool, agency: who.agency, code: result.code, durationMs });
      throw refusalError(result.code, result.retryAfterSeconds);
    }
    if (result.outcome === 'queued') return { ticket: result.ticket, outcome: 'queued' };
    if (result.outcome === 'ended') {
      throw new BrokerError('grant-ended', `grant ${result.grant.id}, which this Idempotency-Key created, was released or has expired; request a new grant with a new key`);
    }
    this.events.emit('granted', { pool, agency: who.agency, member: result.grant.member, outcome: result.outcome, durationMs, grant: result.grant });
    return narrow(result);
  }

  async get(who: Principal, grantId: string): Promise<Grant> {
    const { pool } = parseGrantId(grantId);
    if (hasRole(who, 'operator')) return this.unwrap(await this.call('get', () => this.store.get(pool, grantId)));
    if (!hasRole(who, 'gateway-agent')) return this.unwrap(await this.call('get', () => this.store.get(pool, grantId, who.owner)));
    // An agent checks grants presented on its own members (a read: nothing changes before the check).
    const grant = this.unwrap(await this.call('get', () => this.store.get(pool, grantId)));
    if (grant.owner !== who.owner && !mayActFor(who, grant.pool, grant.member)) throw failureError('grant-not-found');
    return grant;
  }

  async heartbeat(who: Principal, grantId: string): Promise<Grant> {
    const { pool } = parseGrantId(grantId);
    const grant = this.unwrap(await this.call('heartbeat', () => this.store.heartbeat(pool, grantId, who.owner)));
    this.events.emit('renewed', { pool, member: grant.member, count: 1 });
    return grant;
  }

  /** The owner ends their session; an operator may end anyone's. */
  async release(who: Principal, grantId: string): Promise<Grant> {
    const { pool } = parseGrantId(grantId);
    const owner = hasRole(who, 'operator') ? undefined : who.owner;
    const grant = this.unwrap(await this.call('release', () => this.store.release(pool, grantId, owner)));
    this.events.emit('released', { pool, agency: grant.agency, member: grant.member, grant });
    return grant;
  }

  /** The caller's own live grants in every pool. */
  async listMine(who: Principal): Promise<Grant[]> {
    const pools = this.config.get().broker.pools.map((p) => p.id);
    const lists = await Promise.all(pools.map((p) => this.call('listByOwner', () => this.store.listByOwner(p, who.owner))));
    return lists.flat().sort((a, b) => a.createdAt - b.createdAt);
  }

  /** An agent's report for one member; answers the counts (the leases it ended went out as `released` / `expired` events). */
  async bulkRenew(who: Principal, pool: string, member: string, active: string[], ended: string[]): Promise<BulkRenewCounts> {
    if (!mayActFor(who, pool, member)) {
      throw new BrokerError('forbidden', `this agent token is not for member ${pool}/${member}`);
    }
    const { releasedLeases, expiredLeases, ...counts } = this.unwrap(await this.call('bulkRenew', () => this.store.bulkRenew({ pool, member, active, ended })));
    for (const l of releasedLeases) this.events.emit('released', { pool: l.pool, agency: l.agency, member: l.member, grant: l });
    this.emitExpired(expiredLeases);
    if (counts.renewed > 0) this.events.emit('renewed', { pool, member, count: counts.renewed });
    this.events.emit('bulkRenewed', { pool, member, renewed: counts.renewed, released: counts.released, expired: counts.expired });
    return counts;
  }

  /**
   * The live leases of one member, ids and expiry only: what its gateway agent should be carrying
   * (to reconcile with its tunnels after a restart, and to report them all in a bulk renewal).
   * The member's own agent and operators may read it.
   */
  async listOnMember(who: Principal, pool: string, member: string): Promise<MemberLease[]> {
    if (!hasRole(who, 'operator') && !mayActFor(who, pool, member)) {
      throw new BrokerError('forbidden', `only the agent of member ${pool}/${member} or an operator may list its grants`);
    }
    return this.unwrap(await this.call('listByMember', () => this.store.listByMember(pool, member)));
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return storeCall(this.events, operation, fn);
  }

  private unwrap<T>(r: LeaseResult<T>): T {
    if (!r.ok) throw failureError(r.failure);
    return r.value;
  }

  private emitExpired(expired: ExpiredLease[]): void {
    for (const e of expired) this.events.emit('expired', { pool: e.pool, agency: e.agency, member: e.member, id: e.id, owner: e.owner });
  }
}

function narrow(r: Extract<GrantResult, { outcome: 'created' | 'reconnected' | 'replayed' }>): GrantOutcome {
  return { grant: r.grant, outcome: r.outcome };
}

/** Splits `<pool>.<random>`; a malformed id is a 400, not a lookup. */
export function parseGrantId(id: string): { pool: string } {
  const m = GRANT_ID.exec(id);
  if (!m) {
    throw new BrokerError('invalid-grant-id', 'a grant id looks like "<pool>.<12 characters>"', { errors: [{ path: 'path:id', message: 'not a grant id' }] });
  }
  return { pool: m[1]! };
}

/** A gateway agent may act for exactly the members its token names (src/auth/claims.ts). */
function mayActFor(who: Principal, pool: string, member: string): boolean {
  return hasRole(who, 'gateway-agent') && who.members.has(`${pool}/${member}`);
}
