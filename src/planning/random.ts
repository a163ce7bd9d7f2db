import { unsafeSkipN, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import type { DurationSpec } from './scenario.schema';

// Math's functions as module constants: a global lookup in a hot loop is slow where code runs in a
// vm context (jest runs tests in one), and a constant costs nothing elsewhere.
const { imul, log, sqrt, cos, sin, exp, min, PI } = Math;
const UNLIMITED = Infinity;

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 32-bit key derived from several integers (seed, variant, pool, replication…), so that each
 * combination gets its own stream and adding a replication never shifts the others.
 */
export function deriveKey(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = fmix32((h ^ fmix32(p >>> 0)) + 0x7f4a7c15);
  return h;
}

/**
 * A uniform number in [0, 1) that depends only on (key, a, b): counter-based, so a refused
 * session's retry decisions are a property of the session, the same in every simulated capacity
 * and in the replay schedule, whatever order refusals happen in.
 */
export function hashUnit(key: number, a: number, b: number): number {
  let h = fmix32((0x9e3779b9 ^ fmix32(key >>> 0)) + 0x7f4a7c15);
  h = fmix32((h ^ fmix32(a >>> 0)) + 0x7f4a7c15);
  h = fmix32((h ^ fmix32(b >>> 0)) + 0x7f4a7c15);
  return h / 4294967296;
}

/** A seeded stream of random numbers (pure-rand's xoroshiro128+). */
export class RandomStream {
  private readonly rng: RandomGenerator;
  private spare = 0;
  private hasSpare = false;

  constructor(key: number) {
    this.rng = xoroshiro128plus(key | 0);
    // The first outputs of a freshly seeded xoroshiro still resemble the seed.
    unsafeSkipN(this.rng, 16);
  }

  /** Uniform in [0, 1), 53 random bits. */
  uniform(): number {
    const hi = this.rng.unsafeNext() >>> 5;
    const lo = this.rng.unsafeNext() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * log(1 - this.uniform());
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const r = sqrt(-2 * log(1 - this.uniform()));
    const theta = 2 * PI * this.uniform();
    this.spare = r * sin(theta);
    this.hasSpare = true;
    return r * cos(theta);
  }

  /** 32 random bits. */
  uint32(): number {
    return this.rng.unsafeNext() >>> 0;
  }
}

/** Mean of a duration distribution in minutes, before any cut at maxMinutes. */
export function meanMinutes(d: DurationSpec): number {
  switch (d.distribution) {
    case 'lognormal':
      return d.medianMinutes * exp((d.sigma * d.sigma) / 2);
    case 'exponential':
      return d.meanMinutes;
    case 'fixed':
      return d.minutes;
  }
}

/** Fills `out` with durations in seconds drawn from `d`. */
export function fillDurations(out: Float64Array, count: number, d: DurationSpec, rs: RandomStream): void {
  switch (d.distribution) {
    case 'lognormal': {
      const mu = log(d.medianMinutes * 60);
      const cap = (d.maxMinutes ?? UNLIMITED) * 60;
      for (let i = 0; i < count; i++) out[i] = min(cap, exp(mu + d.sigma * rs.normal()));
      return;
    }
    case 'exponential': {
      const mean = d.meanMinutes * 60;
      const cap = (d.maxMinutes ?? UNLIMITED) * 60;
      for (let i = 0; i < count; i++) out[i] = min(cap, rs.exponential(mean));
      return;
    }
    case 'fixed':
      out.fill(d.minutes * 60, 0, count);
      return;
  }
}

/** One duration in seconds for a uniform `u` in [0, 1) and, for the log-normal, a second uniform `v`. */
export function durationFromUniforms(d: DurationSpec, u: number, v: number): number {
  switch (d.distribution) {
    case 'lognormal': {
      const z = sqrt(-2 * log(1 - u)) * cos(2 * PI * v);
      return min((d.maxMinutes ?? UNLIMITED) * 60, d.medianMinutes * 60 * exp(d.sigma * z));
    }
    case 'exponential':
      return min((d.maxMinutes ?? UNLIMITED) * 60, -d.meanMinutes * 60 * log(1 - u));
    case 'fixed':
      return d.minutes * 60;
  }
}
