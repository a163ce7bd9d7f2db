import type { HeadroomSnapshot } from './grant';
import type { PoolSpec } from './pool-spec';

/** Σ of the headroom reserved for classes ranked above `rank` (docs/admission.md, rule 10a). */
export function headroomAbove(spec: PoolSpec, rank: number): number {
  let sum = 0;
  for (const h of spec.headroom ?? []) if (h.rank > rank) sum += h.slots;
  return sum;
}

/**
 * Headroom bands and their use: the bands stack from the top of the pool, the
 * highest rank nearest to full (ties in config order); a band's slots are in
 * use as far as `free` has fallen into it (docs/admission.md, "Priority classes").
 */
export function headroomView(spec: PoolSpec, free: number): HeadroomSnapshot[] {
  const bands = (spec.headroom ?? []).map((h, i) => ({ h, i })).sort((a, b) => b.h.rank - a.h.rank || a.i - b.i);
  const f = Math.max(0, free);
  const inUse: number[] = [];
  let above = 0;
  for (const { h, i } of bands) {
    inUse[i] = Math.min(h.slots, Math.max(0, above + h.slots - Math.max(f, above)));
    above += h.slots;
  }
  return (spec.headroom ?? []).map((h, i) => ({ class: h.class, rank: h.rank, slots: h.slots, inUse: inUse[i]! }));
}
