import type {
  BulkRenewCommand,
  BulkRenewResult,
  ExpiredLease,
  Grant,
  MemberLease,
  GrantCommand,
  GrantResult,
  PoolSnapshot,
  WaitingChange,
  WaitTicket,
} from '../../src/domain/grant';
import type { PoolLayers, PoolOverrides } from '../../src/domain/pool-overrides';
import type { PoolSpec } from '../../src/domain/pool-spec';
import type { AuditPage, AuditQuery, LeaseResult, LeaseStore, OperatorAudit, OverridesWrite } from '../../src/repositories/lease-store';
import { AdmissionModel, type ModelOptions } from './admission.model';
import { OperationsModel } from './operations.model';

/**
 * The reference model behind the LeaseStore interface, so the contract suite
 * can check the model too (test/model/admission.model.test.ts): a model that
 * passes the same contract as the stores is a fair judge in property tests.
 */
export class ModelLeaseStore implements LeaseStore {
  readonly kind = 'memory' as const;
  readonly model: AdmissionModel;
  readonly operations: OperationsModel;
  private readonly listeners = new Set<(changes: WaitingChange[]) => void>();

  constructor(
    options: ModelOptions,
    private readonly clock: () => number,
  ) {
    this.model = new AdmissionModel(options);
    this.operations = new OperationsModel(this.model);
  }

  async syncPools(specs: PoolSpec[]): Promise<void> {
    this.operations.syncPools(specs, this.clock());
    this.flush();
  }
  async getPoolLayers(pool: string): Promise<PoolLayers | null> {
    return this.operations.getPoolLayers(pool);
  }
  async setPoolOverrides(pool: string, overrides: PoolOverrides, expectedRevision: number, audit?: OperatorAudit): Promise<LeaseResult<OverridesWrite>> {
    return this.flushed(this.operations.setPoolOverrides(pool, overrides, expectedRevision, audit, this.clock()));
  }
  async recordMemberFailure(pool: string, member: string, reporter: string, windowMs: number): Promise<LeaseResult<number>> {
    return this.operations.recordMemberFailure(pool, member, reporter, windowMs, this.clock());
  }
  async clearMemberFailures(pool: string, member: string): Promise<void> {
    this.operations.clearMemberFailures(pool, member);
  }
  async sessionsEnding(pool: string, fromMs: number, toMs: number): Promise<Grant[]> {
    return this.operations.sessionsEnding(pool, fromMs, toMs, this.clock());
  }
  async appendAudit(pool: string, entry: OperatorAudit): Promise<void> {
    this.operations.append(pool, { t: String(this.clock()), ...entry });
  }
  async readAudit(pool: string, query: AuditQuery): Promise<AuditPage> {
    return this.operations.readAudit(pool, query);
  }
  async trimAudit(pool: string, olderThanMs: number): Promise<number> {
    return this.operations.trimAudit(pool, olderThanMs);
  }
  async claimJob(name: string, ttlMs: number): Promise<boolean> {
    return this.operations.claimJob(name, ttlMs);
  }
  async completeJob(name: string, keepMs: number): Promise<void> {
    this.operations.completeJob(name, keepMs);
  }
  async getPoolSpec(pool: string): Promise<PoolSpec | null> {
    return this.model.getPoolSpec(pool);
  }
  async grant(cmd: GrantCommand): Promise<LeaseResult<GrantResult>> {
    return this.flushed(this.model.grant(cmd, this.clock()));
  }
  async heartbeat(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.flushed(this.model.heartbeat(pool, grantId, owner, this.clock()));
  }
  async release(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.flushed(this.model.release(pool, grantId, owner, this.clock()));
  }
  async get(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.model.get(pool, grantId, owner, this.clock());
  }
  async listByOwner(pool: string, owner: string): Promise<Grant[]> {
    return this.model.listByOwner(pool, owner, this.clock());
  }
  async listByMember(pool: string, member: string): Promise<LeaseResult<MemberLease[]>> {
    return this.model.listByMember(pool, member, this.clock());
  }
  async bulkRenew(cmd: BulkRenewCommand): Promise<LeaseResult<BulkRenewResult>> {
    return this.flushed(this.model.bulkRenew(cmd, this.clock()));
  }
  async reap(pool: string, limit: number): Promise<ExpiredLease[]> {
    return this.flushed(this.model.reap(pool, limit, this.clock()));
  }
  async nextExpiryIn(pool: string): Promise<number | null> {
    return this.model.nextExpiryIn(pool, this.clock());
  }
  async checkIn(pool: string, ticketId: string, owner: string): Promise<LeaseResult<{ ticket: WaitTicket; expired: ExpiredLease[] }>> {
    return this.flushed(this.model.checkIn(pool, ticketId, owner, this.clock()));
  }
  async claim(pool: string, ticketId: string, owner: string): Promise<LeaseResult<Grant>> {
    return this.flushed(this.model.claim(pool, ticketId, owner, this.clock()));
  }
  async leave(pool: string, ticketId: string, owner: string): Promise<LeaseResult<null>> {
    return this.flushed(this.model.leave(pool, ticketId, owner, this.clock()));
  }
  async getTicket(pool: string, ticketId: string, owner?: string): Promise<LeaseResult<WaitTicket>> {
    return this.model.getTicket(pool, ticketId, owner, this.clock());
  }
  async ticketOf(pool: string, owner: string): Promise<WaitTicket | null> {
    return this.model.ticketOf(pool, owner, this.clock());
  }
  onWaitingChange(listener: (changes: WaitingChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private flush(): void {
    const changes = this.model.takeChanges();
    if (changes.length > 0) for (const l of this.listeners) l(changes);
  }
  private flushed<T>(r: T): T {
    this.flush();
    return r;
  }
  async snapshot(pool: string): Promise<LeaseResult<PoolSnapshot>> {
    return this.model.snapshot(pool, this.clock());
  }
  async now(): Promise<number> {
    return this.clock();
  }
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
