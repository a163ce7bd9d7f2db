/** Phase 5, reclaim: the gateways renew everything once more, then nobody renews; all leases expire together. */
import { sleep } from '../lib/processes';
import type { BrokerFigures } from '../lib/types';
import { log, poolActive, renewalRound, type PhaseContext } from './context';

/** Leases live 60 s in bench/broker.bench.yaml. */
const TTL_MS = 60_000;

export async function reclaim(ctx: PhaseContext): Promise<BrokerFigures['reclaim']> {
  const leases = ctx.held.count();
  const round = await renewalRound(ctx);
  log(`${ctx.store}: ${leases} leases renewed a last time; waiting ${TTL_MS / 1000} s for them to expire and be reclaimed`);
  let zeroAt: number | null = null;
  let left: number | null = null;
  const giveUp = round.endedAt + TTL_MS + 60_000;
  await sleep(Math.max(0, round.startedAt + TTL_MS - 1000 - Date.now()));
  while (Date.now() < giveUp) {
    left = await poolActive(ctx.base, ctx.tokens.operator);
    if (left === 0) {
      zeroAt = Date.now();
      break;
    }
    await sleep(100);
  }
  return {
    leases,
    secondsAfterLastExpiry: zeroAt === null ? null : (zeroAt - (round.endedAt + TTL_MS)) / 1000,
    secondsAfterFirstExpiry: zeroAt === null ? null : (zeroAt - (round.startedAt + TTL_MS)) / 1000,
    leftAfterWait: left,
  };
}
