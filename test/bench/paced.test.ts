import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpRecorder } from '../../bench/lib/load';
import { dueCount, PacedLoad } from '../../bench/lib/paced';

describe('the paced load generator', () => {
  it('counts request k due at start + k / rate, the first at the start', () => {
    expect(dueCount(1000, 1000, 50)).toBe(1);
    expect(dueCount(1019.9, 1000, 50)).toBe(1);
    expect(dueCount(1020, 1000, 50)).toBe(2);
    expect(dueCount(2000, 1000, 500)).toBe(501);
  });

  describe('against a server that answers at once', () => {
    let server: Server;
    let base: URL;
    beforeAll(async () => {
      server = createServer((_req, res) => res.end('{}'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('records latency from when each request was due, not one interval later', async () => {
      const rate = 10; // one every 100 ms
      const recorder = new OpRecorder();
      const load = new PacedLoad(base, recorder, 4);
      let sent = 0;
      await load.run(1, (now, start) => {
        for (const due = dueCount(now, start, rate); sent < due; sent++) load.send({ op: 'get', method: 'GET', path: '/', headers: {} }, start + (sent / rate) * 1000);
      });
      load.close();
      const s = recorder.summary('get');
      expect(s.count).toBeGreaterThanOrEqual(10);
      // Sent an interval late, every request would read ≥ 100 ms.
      expect(s.p50).toBeLessThan(50);
    });
  });
});
