import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/** A seeded PRNG (pure-rand's xoroshiro128+); `fork(n)` gives an independent stream per client or fault. */
export class Rng {
  private readonly g: RandomGenerator;

  constructor(readonly seed: number) {
    this.g = xoroshiro128plus(seed);
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return unsafeUniformIntDistribution(min, max, this.g);
  }

  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  fork(n: number): Rng {
    return new Rng((this.seed * 31 + n * 7919 + 1) | 0);
  }
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
