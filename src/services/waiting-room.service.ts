import { Inject, Injectable, Logger, BeforeApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import type { Grant, WaitingChange, WaitTicket } from '../domain/grant';
import type { WaitTicketView } from '../dtos/waiting.dto';
import { BrokerError } from '../errors/error-codes';
import { ConfigRepository } from '../repositories/config.repository';
import { LEASE_STORE, type LeaseResult, type WaitingRoomPort } from '../repositories/lease-store';
import { BrokerEvents } from './broker-events';
import { parseGrantId } from './grant.service';
import { failureError, storeCall } from './lease-errors';
import { LiveUpdatesService } from './live-updates.service';

export const WAITING_TOPIC = 'waiting';

/**
 * The waiting room as employees use it (docs/admission.md, "Waiting room"):
 * check in to keep one's place (REST, or a ping on the live connection of a page
 * subscribed to `waiting`), claim an offer, leave; the owner-scoped
 * `waiting` topic pushes `waiting.ticket` (place and estimated wait, at every
 * check-in), `waiting.offer` (a slot is held for you: claim it) and
 * `waiting.left` (dropped: missed check-in, offer expired, …) to the waiter's
 * pages on every replica. The rules themselves live in the store.
 */
@Injectable()
export class WaitingRoomService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly log = new Logger(WaitingRoomService.name);
  private off: (() => void) | null = null;

  constructor(
    @Inject(LEASE_STORE) private readonly store: WaitingRoomPort,
    private readonly live: LiveUpdatesService,
    private readonly events: BrokerEvents,
    private readonly config: ConfigRepository,
  ) {
  }

  onModuleInit(): void {
    this.live.defineTopic({
      name: WAITING_TOPIC,
      scope: 'owner',
      initial: async (who) => (await this.mine(who)).map((t) => ({ event: 'ticket', data: this.view(t) })),
      // An open waiting page pings: that keeps its place as a REST check-in would.
      onPing: async (who) => void (await this.checkInAll(who)),
    });
    this.off = this.store.onWaitingChange((changes) => this.publish(changes));
  }

  beforeApplicationShutdown(): void {
    this.off?.();
  }

  /** The caller's tickets in every pool. */
  async mine(who: Principal): Promise<WaitTicket[]> {
    const pools = this.config.get().broker.pools.map((p) => p.id);
    const tickets = await Promise.all(pools.map((p) => this.call('ticketOf', () => this.store.ticketOf(p, who.owner))));
    return tickets.filter((t): t is WaitTicket => t !== null);
  }

  async get(who: Principal, ticketId: string): Promise<WaitTicket> {
    const { pool } = parseGrantId(ticketId);
    return this.unwrap(await this.call('getTicket', () => this.store.getTicket(pool, ticketId, who.owner)));
  }

  /** Keeps the caller's place (and makes the offers due); pushes the ticket to their pages too. */
  async checkIn(who: Principal, ticketId: string): Promise<WaitTicket> {
    const { pool } = parseGrantId(ticketId);
    const { ticket, expired } = this.unwrap(await this.call('checkIn', () => this.store.checkIn(pool, ticketId, who.owner)));
    for (const e of expired) this.events.emit('expired', { pool: e.pool, agency: e.agency, member: e.member, id: e.id, owner: e.owner });
    void this.live.publishToOwner(WAITING_TOPIC, who.owner, 'ticket', this.view(ticket)).catch(() => undefined);
    return ticket;
  }

  /**
   * Checks in every place in line the caller holds (a ping from their live page; offers are
   * not extended, they are claimed). A ticket that went meanwhile is skipped: its drop-out
   * was pushed already. Answers the tickets checked in.
   */
  async checkInAll(who: Principal): Promise<WaitTicket[]> {
    const out: WaitTicket[] = [];
    for (const t of await this.mine(who)) {
      if (t.state !== 'waiting') continue;
      try {
        out.push(await this.checkIn(who, t.id));
      } catch (e) {
        if (!(e instanceof BrokerError && (e.code === 'ticket-not-found' || e.code === 'offer-expired'))) throw e;
      }
    }
    return out;
  }

  async claim(who: Principal, ticketId: string): Promise<Grant> {
    const { pool } = parseGrantId(ticketId);
    const grant = this.unwrap(await this.call('claim', () => this.store.claim(pool, ticketId, who.owner)));
    this.events.emit('granted', { pool, agency: grant.agency, member: grant.member, outcome: 'created', durationMs: 0, grant });
    return grant;
  }

  async leave(who: Principal, ticketId: string): Promise<void> {
    const { pool } = parseGrantId(ticketId);
    this.unwrap(await this.call('leave', () => this.store.leave(pool, ticketId, who.owner)));
  }

  view(t: WaitTicket): WaitTicketView {
    const host = t.offer ? this.config.memberHost(t.pool, t.offer.member) : undefined;
    return {
      id: t.id,
      pool: t.pool,
      state: t.state,
      position: t.position,
      estimatedWaitSeconds: t.estimatedWaitMs === null ? null : Math.ceil(t.estimatedWaitMs / 1000),
      checkInBy: new Date(t.checkInBy).toISOString(),
      reason: t.reason,
      priorityClass: t.priorityClass,
      joinedAt: new Date(t.joinedAt).toISOString(),
      clientId: t.clientId,
      offer: t.offer ? { member: t.offer.member, ...(host !== undefined ? { memberHost: host } : {}), until: new Date(t.offer.until).toISOString() } : null,
    };
  }

  /** Offers and drop-outs of any operation of this replica, to the waiters' pages on every replica. */
  private publish(changes: WaitingChange[]): void {
    for (const c of changes) {
      const sent =
        c.kind === 'offered'
          ? this.live.publishToOwner(WAITING_TOPIC, c.ticket.owner, 'offer', this.view(c.ticket))
          : this.live.publishToOwner(WAITING_TOPIC, c.owner, 'left', { id: c.ticketId, pool: c.pool, reason: c.reason });
      sent.catch((e: Error) => this.log.warn(`waiting-room change not published: ${e.message}`));
    }
  }

  private call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return storeCall(this.events, operation, fn);
  }

  private unwrap<T>(r: LeaseResult<T>): T {
    if (!r.ok) throw failureError(r.failure);
    return r.value;
  }
}
