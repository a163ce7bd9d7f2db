/**
 * Phase 2, steady mixed load at HELD held: heartbeats on most sessions, release + grant pairs on the rest,
 * and the gateways' bulk renewals as in production: each member's agent reports every session it
 * carries every RENEWAL_EVERY_S seconds, the members' reports spread evenly over that period.
 *
 * Paced (bench/lib/paced.ts, an open model like k6's arrival-rate executors): each request starts when
 * the schedule says and its latency counts from then. It used autocannon's rate limit, which sends each
 * connection's quota for a second as fast as the broker answers and then waits for the next second: a
 * burst of closed-loop load at the top of every second, whose tail was the queue of that burst, not the
 * latency of a steady 2,000 requests/s (docs/performance.md, sixth pass).
 */
import { OpRecorder } from '../lib/load';
import { dueCount, PacedLoad } from '../lib/paced';
import type { BrokerFigures } from '../lib/types';
import { auth, cpuMeter, grantRequest, json, log, POOL, reconcile, renewalRound, runtimeMeter, type PhaseContext } from './context';

/** How often each gateway reports (bench/broker.bench.yaml: leases live 60 s). */
const RENEWAL_EVERY_S = 20;
/** Seconds of the same mix before the measured part, reported apart (see mixedLoad). */
const WARMUP_S = 3;

/** Returns the figures and the employees that churn (the throughput phase takes its free ones from them). */
export async function mixedLoad(ctx: PhaseContext): Promise<{ mixed: BrokerFigures['mixed']; churnQueue: number[] }> {
  const { s, tokens, held, recorder } = ctx;
  const n = s.held;
  await renewalRound(ctx);
  const churnCount = Math.max(s.mixedConnections * 4, Math.floor(n / 10));
  const hbCount = n - churnCount;
  const churnQueue: number[] = [];
  for (let e = hbCount; e < n; e++) if (held.ids[e]) churnQueue.push(e);
  const inFlight = new Set<number>();
  const hbRate = s.mixedRate / 2;
  const pairRate = s.mixedRate / 4; // a release, then on its answer a grant: mixedRate / 2 requests/s
  log(`${ctx.store}: mixed load ${s.mixedRate} requests/s for ${s.mixedSeconds} s (heartbeats ${hbRate}/s, release + grant pairs ${pairRate}/s, each gateway reporting every ${RENEWAL_EVERY_S} s), paced, after ${WARMUP_S} s of the same as a warm-up`);
  const members = [...held.byMember().keys()].sort();
  const renewalRate = members.length / RENEWAL_EVERY_S;
  /** The mix for `seconds`, recorded in `rec`: heartbeats, release + grant pairs and the gateways' reports, paced. */
  const mix = async (rec: OpRecorder, seconds: number, measured: () => Promise<void> = async () => {}) => {
    const load = new PacedLoad(new URL(ctx.base), rec, 4 * s.mixedConnections);
    let hbSent = 0;
    let pairsSent = 0;
    let renewalsSent = 0;
    const grant = (e: number) =>
      load.send(
        grantRequest('grant', tokens.employees[e]!.token, (status, body) => {
          const ok = (status === 201 || status === 200) && held.set(e, body);
          churnQueue.push(e);
          inFlight.delete(e);
          return ok;
        }),
        performance.now(),
      );
    await measured();
    await load.run(seconds, (now, t0) => {
      for (const due = dueCount(now, t0, renewalRate); renewalsSent < due; renewalsSent++) {
        const member = members[renewalsSent % members.length]!;
        const ids = held.byMember().get(member) ?? [];
        load.send(
          { op: 'mixed-bulk-renewal', method: 'POST', path: `/v1/pools/${POOL}/members/${member}/renewals`, headers: json(tokens.gatewayAgents[member]!), body: JSON.stringify({ active: ids, ended: [] }), done: (status) => status === 200 },
          t0 + (renewalsSent / renewalRate) * 1000,
        );
      }
      for (const due = dueCount(now, t0, hbRate); hbSent < due; hbSent++) {
        const e = hbSent % hbCount;
        load.send({ op: 'heartbeat', method: 'POST', path: `/v1/grants/${held.ids[e]}/heartbeat`, headers: auth(tokens.employees[e]!.token), done: (status) => status === 200 }, t0 + (hbSent / hbRate) * 1000);
      }
      for (const due = dueCount(now, t0, pairRate); pairsSent < due && churnQueue.length > 0; pairsSent++) {
        const e = churnQueue.shift()!;
        inFlight.add(e);
        load.send(
          {
            op: 'release',
            method: 'DELETE',
            path: `/v1/grants/${held.ids[e]}`,
            headers: auth(tokens.employees[e]!.token),
            done: (status) => {
              if (status !== 204) {
                churnQueue.push(e); // reconciled at the end if it still holds something unknown
                return false;
              }
              held.clear(e);
              grant(e);
              return true;
            },
          },
          t0 + (pairsSent / pairRate) * 1000,
        );
      }
    });
    load.close();
    return load;
  };
  // Warm-up, reported on its own: the phases before ran grants and bulk renewals only, so the
  // broker meets its heartbeat and release paths cold here (interpreted until V8 has compiled them,
  // the compiler's threads on the cores the load needs). A broker in service has long run them.
  const warmRecorder = new OpRecorder();
  const warm = await mix(warmRecorder, WARMUP_S);
  const cpu = cpuMeter(ctx.pid);
  let runtime: Awaited<ReturnType<typeof runtimeMeter>> | undefined;
  let start = 0;
  const load = await mix(recorder, s.mixedSeconds, async () => {
    runtime = await runtimeMeter(ctx.base);
    start = performance.now();
  });
  const seconds = (performance.now() - start) / 1000;
  const rt = await runtime!.stop();
  const ops = ['heartbeat', 'grant', 'release'].map((op) => recorder.summary(op));
  const answered = ops.reduce((x, o) => x + o.count, 0);
  const used = cpu.stop(seconds, answered);
  for (const e of inFlight) await reconcile(ctx, e);
  return {
    mixed: {
      seconds,
      offeredPerSecond: s.mixedRate,
      achievedPerSecond: answered / seconds,
      heartbeat: ops[0]!,
      grant: ops[1]!,
      release: ops[2]!,
      errors: ops.reduce((x, o) => x + o.errors, 0),
      brokerCpuShare: used.share,
      late: load.late,
      bulkRenewal: recorder.summary('mixed-bulk-renewal'),
      stalls: load.stalls(20, ['mixed-bulk-renewal']),
      runtime: rt,
      warmUp: { seconds: WARMUP_S, grant: warmRecorder.summary('grant'), heartbeat: warmRecorder.summary('heartbeat'), stalls: warm.stalls(20, ['mixed-bulk-renewal']) },
    },
    churnQueue,
  };
}
