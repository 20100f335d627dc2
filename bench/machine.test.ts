import type { CpuInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeMachine } from './machine.ts';

const times = { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 };
const cpu = (speed: number): CpuInfo => ({ model: 'AMD EPYC ', speed, times });
const cpuinfo = (): string => 'processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2095.999\ncache size\t: 1024 KB\n';

describe('describeMachine', () => {
  it("gives libuv's clock when it has one", () => {
    expect(describeMachine([cpu(3000), cpu(3000)], cpuinfo)).toEqual({ cpus: 2, model: 'AMD EPYC', mhz: 3000 });
  });

  it("falls back to /proc/cpuinfo's where libuv reports 0 (no cpufreq in a VM)", () => {
    expect(describeMachine([cpu(0), cpu(0)], cpuinfo)).toEqual({ cpus: 2, model: 'AMD EPYC', mhz: 2096 });
  });

  it('gives 0 when neither knows', () => {
    const unreadable = (): string => {
      throw new Error('ENOENT');
    };
    expect(describeMachine([cpu(0)], unreadable).mhz).toBe(0);
    expect(describeMachine([cpu(0)], () => 'processor\t: 0\n').mhz).toBe(0);
  });
});
