/**
 * Phase 3, the logon storm as the k6 scenario shapes it (load-tests/logon-storm.js): every client
 * holding a session renews it every RENEW seconds (60,000 held → 1,500 heartbeats/s) while
 * logons arrive at a fixed rate (500/s), with no gateway bulk renewal meanwhile. Before it, as many
 * sessions are released as the logons will take back, so the pool ends where it started. It runs
 * on past the last logon for `tailSeconds`; with the logon part that outlasts the lease TTL, so a
 * session whose renewals went missing has expired by the end and counts as lost.
 */
import { dueCount, PacedLoad } from '../lib/paced';
import { sleep } from '../lib/processes';
import type { KeepAliveStormFigures } from '../lib/types';
import { auth, cpuMeter, grantRequest, log, poolActive, renewalRound, runtimeMeter, type PhaseContext } from './context';

export async function keepAliveStorm(ctx: PhaseContext): Promise<KeepAliveStormFigures> {
  const { s, tokens, held, recorder } = ctx;
  const ks = s.keepAliveStorm!;
  const url = new URL(ctx.base);
  const logons = Math.min(Math.round(ks.logonsPerSecond * ks.logonSeconds), Math.floor(s.held / 2));
  const renewMs = ks.renewEverySeconds * 1000;

  // Make room: the last `logons` employees log off (fast, unmeasured), then every lease is fresh.
  const leaving: number[] = [];
  for (let e = s.held - 1; e >= 0 && leaving.length < logons; e--) if (held.ids[e]) leaving.push(e);
  // On a busy machine the release takes longer than a lease lives: the gateways renew meanwhile.
  await renewalRound(ctx);
  let releasing = true;
  const agents = (async () => {
    for (;;) {
      for (let t = 0; t < 200 && releasing; t++) await sleep(100);
      if (!releasing) return;
      await renewalRound(ctx);
    }
  })();
  const setup = new PacedLoad(url, recorder, 32);
  const now = performance.now();
  for (const e of leaving) {
    const id = held.ids[e]!;
    held.clear(e);
    setup.send({ op: 'ka-setup-release', method: 'DELETE', path: `/v1/grants/${id}`, headers: auth(tokens.employees[e]!.token) }, now);
  }
  await setup.drained();
  setup.close();
  releasing = false;
  await agents;
  const arriving: number[] = [];
  for (let e = 0; e < s.held; e++) if (!held.ids[e]) arriving.push(e);
  await renewalRound(ctx);

  const heldAtStart = held.count();
  log(`${ctx.store}: keep-alive storm: ${heldAtStart} held renewing every ${ks.renewEverySeconds} s, ${ks.logonsPerSecond} logons/s for ${ks.logonSeconds} s, then ${ks.tailSeconds} s of renewals only`);
  const load = new PacedLoad(url, recorder, 256);
  // Heartbeats due, in (nearly) time order: held sessions spread evenly over one period, each
  // session again one period after its last renewal; a new session one period after its grant.
  const queue: { e: number; due: number }[] = [];
  let head = 0;
  const t0 = performance.now();
  const current: number[] = [];
  for (let e = 0; e < s.held; e++) if (held.ids[e]) current.push(e);
  current.forEach((e, k) => queue.push({ e, due: t0 + (k / current.length) * renewMs }));
  let lost = 0;
  let logonErrors = 0;
  let logonsSent = 0;
  let heartbeats = 0;
  const cpu = cpuMeter(ctx.pid);
  const runtime = await runtimeMeter(ctx.base);
  await load.run(ks.logonSeconds + ks.tailSeconds, (now, start) => {
    const dueLogons = Math.min(arriving.length, dueCount(now, start, ks.logonsPerSecond));
    while (logonsSent < dueLogons) {
      const e = arriving[logonsSent]!;
      const due = start + (logonsSent / ks.logonsPerSecond) * 1000;
      logonsSent++;
      load.send(
        grantRequest('ka-grant', tokens.employees[e]!.token, (status, body) => {
          const ok = status === 201 && held.set(e, body);
          if (ok) queue.push({ e, due: performance.now() + renewMs });
          else logonErrors++;
          return ok;
        }),
        due,
      );
    }
    while (head < queue.length && queue[head]!.due <= now) {
      const { e, due } = queue[head++]!;
      const id = held.ids[e];
      if (!id) continue;
      heartbeats++;
      queue.push({ e, due: due + renewMs });
      load.send(
        {
          op: 'ka-heartbeat',
          method: 'POST',
          path: `/v1/grants/${id}/heartbeat`,
          headers: auth(tokens.employees[e]!.token),
          done: (status) => {
            if (status === 404 || status === 410) {
              lost++;
              held.clear(e);
            }
            return status === 200;
          },
        },
        due,
      );
    }
    if (head > 100_000) {
      queue.splice(0, head);
      head = 0;
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  const rt = await runtime.stop();
  load.close();
  const grant = recorder.summary('ka-grant');
  const heartbeat = recorder.summary('ka-heartbeat');
  const used = cpu.stop(seconds, grant.count + heartbeat.count);
  const brokerCountAtEnd = await poolActive(ctx.base, tokens.operator);
  return {
    logonsPerSecond: ks.logonsPerSecond,
    renewEverySeconds: ks.renewEverySeconds,
    seconds,
    heldAtStart,
    heldAtEnd: held.count(),
    brokerCountAtEnd,
    grant,
    heartbeat,
    lost,
    logonErrors,
    heartbeatsPerSecond: heartbeats / seconds,
    achievedLogonsPerSecond: (grant.count - grant.errors) / ks.logonSeconds,
    late: load.late,
    brokerCpuShare: used.share,
    brokerCpuPerRequestUs: used.perRequestUs,
    eventLoopDelayMs: { broker: rt.brokerLoopDelayMs, generator: rt.generatorLoopDelayMs },
    stalls: load.stalls(25),
    brokerGc: rt.brokerGc,
  };
}
