/** Phase 4, the highest admission throughput: grant + release pairs, unthrottled, at HELD − connections held. */
import { Tracked } from '../lib/load';
import type { BrokerFigures } from '../lib/types';
import { auth, cpuMeter, grantBody, inBatches, json, log, reconcile, renewalRound, ROTATION, type PhaseContext } from './context';

export async function admissionThroughput(ctx: PhaseContext, churnQueue: number[]): Promise<BrokerFigures['throughput']> {
  const { s, tokens, held, recorder } = ctx;
  await renewalRound(ctx);
  // The churning employees first, then any that hold a session, up to ROTATION (or HELD).
  const churning = new Set(churnQueue);
  const others = held.ids.flatMap((id, e) => (id && !churning.has(e) ? [e] : []));
  const employees = [...churnQueue.filter((e) => held.ids[e]), ...others].slice(0, Math.max(s.throughputConnections, Math.min(ROTATION, s.held / 2)));
  await inBatches(employees, 32, async (e) => {
    await fetch(`${ctx.base}/v1/grants/${held.ids[e]}`, { method: 'DELETE', headers: auth(tokens.employees[e]!.token) });
    held.clear(e);
  });
  const free = employees.slice();
  log(`${ctx.store}: admission throughput, grant + release pairs over ${s.throughputConnections} connections for ${s.throughputSeconds} s`);
  const tp = new Tracked(recorder);
  const cpu = cpuMeter(ctx.pid);
  const redisCpu = ctx.redisPid === null ? null : cpuMeter(ctx.redisPid);
  const start = performance.now();
  await tp.run({
    url: ctx.base,
    connections: s.throughputConnections,
    duration: s.throughputSeconds,
    requests: [
      tp.request(
        'tp-grant',
        {
          method: 'POST',
          path: '/v1/grants',
          setupRequest: (req, c) => {
            const e = free.shift()!;
            c.e = e;
            return { ...req, headers: json(tokens.employees[e]!.token), body: grantBody };
          },
        },
        (status, body, c) => {
          const ok = status === 201 && held.set(c.e as number, body);
          if (!ok) free.push(c.e as number);
          else c.id = held.ids[c.e as number];
          return ok;
        },
      ),
      tp.request(
        'tp-release',
        {
          method: 'DELETE',
          setupRequest: (req, c) => (c.id ? { ...req, path: `/v1/grants/${c.id as string}`, headers: auth(tokens.employees[c.e as number]!.token) } : null),
        },
        (status, _body, c) => {
          held.clear(c.e as number);
          free.push(c.e as number);
          return status === 204;
        },
      ),
    ],
  });
  const seconds = (performance.now() - start) / 1000;
  const grant = recorder.summary('tp-grant');
  const release = recorder.summary('tp-release');
  const used = cpu.stop(seconds, grant.count + release.count);
  const redisUsed = redisCpu?.stop(seconds, grant.count + release.count) ?? null;
  // Back to HELD held before the next phase (some answers were in flight when autocannon stopped).
  await inBatches(employees, 32, (e) => reconcile(ctx, e));
  if (grant.errors + release.errors > 0) log(`${ctx.store}: throughput answers other than 201/204 — grant ${recorder.statusText('tp-grant')}, release ${recorder.statusText('tp-release')}`);
  return {
    seconds,
    connections: s.throughputConnections,
    pairsPerSecond: (grant.count - grant.errors) / seconds,
    requestsPerSecond: (grant.count - grant.errors + release.count - release.errors) / seconds,
    grant,
    release,
    errors: grant.errors + release.errors,
    brokerCpuShare: used.share,
    brokerCpuPerRequestUs: used.perRequestUs,
    redisCpuPerRequestUs: redisUsed?.perRequestUs ?? null,
  };
}
