/**
 * Erlang's loss formula: the share of requests refused by `servers` servers without a queue,
 * offered `erlangs` of traffic (arrival rate × mean holding time), for Poisson arrivals and any
 * holding-time distribution with that mean. Computed by the stable recursion
 * B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1)).
 */
export function erlangB(servers: number, erlangs: number): number {
  if (!Number.isInteger(servers) || servers < 0) throw new RangeError(`servers must be a whole number >= 0, not ${servers}`);
  if (!(erlangs >= 0) || !Number.isFinite(erlangs)) throw new RangeError(`erlangs must be a finite number >= 0, not ${erlangs}`);
  if (erlangs === 0) return servers === 0 ? 1 : 0;
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (erlangs * b) / (k + erlangs * b);
  return b;
}

/** The fewest servers for which erlangB(servers, erlangs) <= target. */
export function erlangBServers(erlangs: number, target: number): number {
  if (!(target > 0 && target < 1)) throw new RangeError(`target must be between 0 and 1, not ${target}`);
  if (!(erlangs >= 0) || !Number.isFinite(erlangs)) throw new RangeError(`erlangs must be a finite number >= 0, not ${erlangs}`);
  if (erlangs === 0) return 1;
  let b = 1;
  let k = 0;
  while (b > target) {
    k++;
    b = (erlangs * b) / (k + erlangs * b);
  }
  return k;
}
