import type { BulkRenewCommand, BulkRenewResult, ExpiredLease, Grant, GrantCommand, GrantResult, PoolSnapshot } from '../../src/domain/grant';
import type { PoolSpec } from '../../src/domain/pool-spec';
import type { LeaseResult, LeaseStore } from '../../src/repositories/lease-store';
import { AdmissionModel, type ModelOptions } from './admission.model';

/**
 * The reference model behind the LeaseStore interface, so the contract suite
 * can check the model too (test/model/admission.model.test.ts): a model that
 * passes the same contract as the stores is a fair judge in property tests.
 */
export class ModelLeaseStore implements LeaseStore {
  readonly kind = 'memory' as const;
  readonly model: AdmissionModel;

  constructor(
    options: ModelOptions,
    private readonly clock: () => number,
  ) {
    this.model = new AdmissionModel(options);
  }

  async syncPools(specs: PoolSpec[]): Promise<void> {
    this.model.syncPools(specs);
  }
  async getPoolSpec(pool: string): Promise<PoolSpec | null> {
    return this.model.getPoolSpec(pool);
  }
  async grant(cmd: GrantCommand): Promise<LeaseResult<GrantResult>> {
    return this.model.grant(cmd, this.clock());
  }
  async heartbeat(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.model.heartbeat(pool, grantId, owner, this.clock());
  }
  async release(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.model.release(pool, grantId, owner, this.clock());
  }
  async get(pool: string, grantId: string, owner?: string): Promise<LeaseResult<Grant>> {
    return this.model.get(pool, grantId, owner, this.clock());
  }
  async listByOwner(pool: string, owner: string): Promise<Grant[]> {
    return this.model.listByOwner(pool, owner, this.clock());
  }
  async bulkRenew(cmd: BulkRenewCommand): Promise<LeaseResult<BulkRenewResult>> {
    return this.model.bulkRenew(cmd, this.clock());
  }
  async reap(pool: string, limit: number): Promise<ExpiredLease[]> {
    return this.model.reap(pool, limit, this.clock());
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
