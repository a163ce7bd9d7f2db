import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/** A seeded PRNG (pure-rand's xoroshiro128+); `fork(n)` gives an independent stream per client or fault. */
export class Rng {
  private readonly g: RandomGenerator;

  constructor(readonly seed: number) {
    // Neighbouring seeds (a campaign's base + i) start xoroshiro on alike states: mix them first.
    this.g = xoroshiro128plus(splitmix32(seed));
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

/** splitmix32's finalizer: spreads neighbouring integers over the whole 32-bit range. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) | 0;
}
