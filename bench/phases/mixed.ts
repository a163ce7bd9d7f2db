/** Phase 2, steady mixed load at HELD held: heartbeats on most sessions, release + grant pairs on the rest. */
import { Tracked } from '../lib/load';
import type { BrokerFigures } from '../lib/types';
import { auth, cpuMeter, grantBody, json, log, reconcile, renewalRound, type PhaseContext } from './context';

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
  log(`${ctx.store}: mixed load ${s.mixedRate} ops/s for ${s.mixedSeconds} s (heartbeats ${s.mixedRate / 2}/s, release+grant ${s.mixedRate / 2}/s)`);
  const hb = new Tracked(recorder);
  let hbNext = 0;
  const churn = new Tracked(recorder);
  const cpu = cpuMeter(ctx.pid);
  const start = performance.now();
  await Promise.all([
    hb.run({
      url: ctx.base,
      connections: s.mixedConnections,
      overallRate: s.mixedRate / 2,
      duration: s.mixedSeconds,
      requests: [
        hb.request(
          'heartbeat',
          {
            method: 'POST',
            setupRequest: (req) => {
              const e = hbNext++ % hbCount;
              return { ...req, path: `/v1/grants/${held.ids[e]}/heartbeat`, headers: auth(tokens.employees[e]!.token) };
            },
          },
          (status) => status === 200,
        ),
      ],
    }),
    churn.run({
      url: ctx.base,
      connections: s.mixedConnections,
      overallRate: s.mixedRate / 2,
      duration: s.mixedSeconds,
      requests: [
        churn.request(
          'release',
          {
            method: 'DELETE',
            setupRequest: (req, c) => {
              const e = churnQueue.shift()!;
              c.e = e;
              inFlight.add(e);
              return { ...req, path: `/v1/grants/${held.ids[e]}`, headers: auth(tokens.employees[e]!.token) };
            },
          },
          (status, _body, c) => {
            if (status === 204) held.clear(c.e as number);
            return status === 204;
          },
        ),
        churn.request(
          'grant',
          {
            method: 'POST',
            path: '/v1/grants',
            setupRequest: (req, c) => ({ ...req, headers: json(tokens.employees[c.e as number]!.token), body: grantBody }),
          },
          (status, body, c) => {
            const ok = (status === 201 || status === 200) && held.set(c.e as number, body);
            churnQueue.push(c.e as number);
            inFlight.delete(c.e as number);
            return ok;
          },
        ),
      ],
    }),
  ]);
  const seconds = (performance.now() - start) / 1000;
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
    },
    churnQueue,
  };
}
