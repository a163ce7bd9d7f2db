import { RedisLeaseStore } from '../../src/repositories/redis/redis-lease.store';
import { describeLeaseStoreContract } from './lease-store.contract';
import { connect, defaultOptions, deleteUnder, newPrefix, storeClient } from './redis/redis-test-utils';

// The shared contract (docs/admission.md) against the Redis store on the shared Redis,
// one fresh key prefix per store.
describeLeaseStoreContract('redis', async ({ clock, options }) => {
  const prefix = newPrefix();
  const store = new RedisLeaseStore(storeClient(), { ...defaultOptions, ...options, clock, keyPrefix: prefix });
  return {
    store,
    cleanup: async () => {
      const admin = connect();
      try {
        await deleteUnder(admin, prefix);
      } finally {
        await admin.quit();
        await store.close();
      }
    },
  };
});
