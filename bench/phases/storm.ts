/** Phase 1, the logon storm: HELD distinct employees, one grant each, as fast as the broker admits them. */
import { Tracked } from '../lib/load';
import { cpuSeconds, sleep } from '../lib/processes';
import type { BrokerFigures } from '../lib/types';
import { grantBody, json, log, renewalRound, type PhaseContext } from './context';

export async function logonStorm(ctx: PhaseContext): Promise<BrokerFigures['storm']> {
  const { s, tokens, held, recorder, pid } = ctx;
  const n = s.held;
  log(`${ctx.store}: logon storm to ${n} grants over ${s.stormConnections} connections`);
  const storm = new Tracked(recorder);
  let next = 0;
  let keepAlive = true;
  const agents = (async () => {
    // Leases live 60 s (bench/broker.bench.yaml): if the storm runs long, the gateways renew meanwhile.
    for (;;) {
      for (let t = 0; t < 200 && keepAlive; t++) await sleep(100);
      if (!keepAlive) return;
      await renewalRound(ctx);
    }
  })();
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await storm.run({
    url: ctx.base,
    connections: s.stormConnections,
    amount: n,
    requests: [
      storm.request(
        'storm-grant',
        {
          method: 'POST',
          path: '/v1/grants',
          setupRequest: (req, c) => {
            const e = next++;
            c.e = e;
            return { ...req, headers: json(tokens.employees[e]!.token), body: grantBody };
          },
        },
        (status, body, c) => status === 201 && held.set(c.e as number, body),
      ),
    ],
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(pid);
  keepAlive = false;
  await agents;
  const latency = recorder.summary('storm-grant');
  const created = held.count();
  return {
    seconds,
    grantsPerSecond: created / seconds,
    created,
    errors: latency.errors,
    statuses: recorder.statusText('storm-grant'),
    latency,
    brokerCpuSeconds: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
  };
}
