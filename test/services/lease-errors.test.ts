import { Logger } from '@nestjs/common';
import { BrokerEvents } from '../../src/services/broker-events';
import { STORE_FAILURE_LOG_MS, storeCall } from '../../src/services/lease-errors';

describe('storeCall', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('answers store-unavailable for every failure but logs one line per operation per interval, with the count of the rest', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const lines: string[] = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((m: unknown) => void lines.push(String(m)));
    const events = new BrokerEvents();
    const seen: boolean[] = [];
    events.on('storeCall', (p) => seen.push(p.ok));
    const down = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));

    for (let i = 0; i < 500; i++) await expect(storeCall(events, 'logtest-grant', down)).rejects.toMatchObject({ code: 'store-unavailable' });
    await expect(storeCall(events, 'logtest-release', down)).rejects.toMatchObject({ code: 'store-unavailable' });
    expect(lines).toEqual(['store logtest-grant failed: connect ECONNREFUSED 127.0.0.1:6379', 'store logtest-release failed: connect ECONNREFUSED 127.0.0.1:6379']);
    expect(seen).toHaveLength(501); // the metrics still see each one

    jest.setSystemTime(1_000_000 + STORE_FAILURE_LOG_MS - 1);
    await expect(storeCall(events, 'logtest-grant', down)).rejects.toMatchObject({ code: 'store-unavailable' });
    expect(lines).toHaveLength(2);
    jest.setSystemTime(1_000_000 + STORE_FAILURE_LOG_MS);
    await expect(storeCall(events, 'logtest-grant', down)).rejects.toMatchObject({ code: 'store-unavailable' });
    expect(lines[2]).toBe('store logtest-grant failed: connect ECONNREFUSED 127.0.0.1:6379 (and 500 more failures of logtest-grant in the 10 s before)');
  });
});
