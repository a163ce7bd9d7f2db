import { describeLeaseStoreContract } from '../repositories/lease-store.contract';
import { ModelLeaseStore } from './model-lease.store';

// The reference model must itself honour the contract before it can judge the stores.
describeLeaseStoreContract('reference model', async ({ clock, options }) => ({
  store: new ModelLeaseStore({ reapBatch: 100, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000, ...options }, clock),
  cleanup: async () => {},
}), { reportsInParts: false });
