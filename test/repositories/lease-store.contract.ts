/**
 * The one contract suite for LeaseStore: every rule of docs/admission.md, run
 * against each implementation (memory-lease.store.test.ts, redis/redis-lease.store.test.ts).
 * One file per rule group in contract/, sharing contract/harness.ts.
 *
 * Time moves only through the injected clock (`h.now`), never by sleeping.
 */
import { contractHarness, type MakeLeaseStore } from './contract/harness';
import { describePoolDefinitions } from './contract/pool-definitions';
import { describeUnknownPool } from './contract/unknown-pool';
import { describeCreatingAGrant } from './contract/creating-a-grant';
import { describeRefusals } from './contract/refusals';
import { describeReconnect } from './contract/reconnect';
import { describeIdempotency } from './contract/idempotency';
import { describeChoiceOfMember } from './contract/choice-of-member';
import { describeHeartbeatReleaseGet } from './contract/heartbeat-release-get';
import { describeExpiry } from './contract/expiry';
import { describeBulkRenewal } from './contract/bulk-renewal';
import { describeMemberGrants } from './contract/member-grants';
import { describePriorityClassesAndHeadroom } from './contract/priority-classes-and-headroom';
import { describeWaitingRoom } from './contract/waiting-room';
import { describeAdmissionRateCap } from './contract/admission-rate-cap';
import { describeAuditRecords } from './contract/audit-records';
import { describeSnapshot } from './contract/snapshot';
import { describeOperationsContract } from './operations.contract';

export type { MakeLeaseStore } from './contract/harness';

/**
 * What an implementation does beyond the rules every one follows. `reportsInParts`: it runs a large
 * bulk renewal in parts (`bulkRenewalPart`) with other operations between them; the reference
 * model, which states the rules, does each report in one step, so the parts' tests are not its.
 */
export interface ContractOptions {
  reportsInParts: boolean;
}

export function describeLeaseStoreContract(name: string, makeStore: MakeLeaseStore, options: ContractOptions = { reportsInParts: true }): void {
  describe(`LeaseStore contract: ${name}`, () => {
    // Runtime overrides, maximum session duration, failures, audit reading, job claims.
    describe('operations', () => describeOperationsContract(makeStore));

    const h = contractHarness(makeStore);
    describePoolDefinitions(h);
    describeUnknownPool(h);
    describeCreatingAGrant(h);
    describeRefusals(h);
    describeReconnect(h);
    describeIdempotency(h);
    describeChoiceOfMember(h);
    describeHeartbeatReleaseGet(h);
    describeExpiry(h);
    describeBulkRenewal(h, options);
    describeMemberGrants(h);
    describePriorityClassesAndHeadroom(h);
    describeWaitingRoom(h);
    describeAdmissionRateCap(h);
    describeAuditRecords(h);
    describeSnapshot(h);
  });
}
