import { describe, expect, it } from 'vitest';
import { serverCpuMicrosPerEvent, serverCpuSeconds } from './server-cpu.ts';

describe('serverCpuMicrosPerEvent', () => {
  it('counts only the processes present in both readings', () => {
    const before = {
      'nats-server': new Map([
        ['10', 2],
        ['11', 5],
      ]),
    };
    // 11 stopped (a cluster test's server), 12 started: neither is the benchmark's server.
    const after = {
      'nats-server': new Map([
        ['10', 3.5],
        ['12', 9],
      ]),
    };
    expect(serverCpuMicrosPerEvent(before, after, 100_000)).toEqual({ 'nats-server': 15 });
  });

  it('reads the local servers from /proc', () => {
    const reading = serverCpuSeconds();
    for (const pids of Object.values(reading)) for (const seconds of pids.values()) expect(seconds).toBeGreaterThanOrEqual(0);
    // The shared NATS server runs on every machine the suite runs on.
    expect(reading['nats-server']?.size ?? 0).toBeGreaterThan(0);
  });
});
