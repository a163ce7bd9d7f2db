import { Injectable } from '@nestjs/common';

/** Counts employees waiting for a pool; the waiting room registers one. */
export type WaitingCounter = (pool: string) => Promise<number>;

/**
 * Where the metrics and the live capacity page learn how many employees wait
 * for each pool. Until the waiting room registers its counter every pool
 * reports 0. The counter must read shared state (the store), so every replica
 * reports the same figure.
 */
@Injectable()
export class WaitingLineRegistry {
  private counter: WaitingCounter = async () => 0;

  register(counter: WaitingCounter): void {
    this.counter = counter;
  }

  count(pool: string): Promise<number> {
    return this.counter(pool);
  }
}
