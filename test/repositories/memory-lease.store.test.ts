import { MemoryLeaseStore } from '../../src/repositories/memory/memory-lease.store';
import { describeLeaseStoreContract } from './lease-store.contract';

describeLeaseStoreContract('memory', async ({ clock, options }) => ({
  store: new MemoryLeaseStore({ reapBatch: 100, bulkRenewalGraceMs: 60_000, idempotencyTtlMs: 600_000, ...options, clock }),
  cleanup: async () => {},
}));
