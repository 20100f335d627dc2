import { readFileSync } from 'node:fs';
import { type CpuInfo, cpus } from 'node:os';

/** What the bench table's header says of the machine. */
export interface Machine {
  cpus: number;
  model: string;
  /** 0 when neither source knows it. */
  mhz: number;
}

/**
 * The CPUs, their model and clock. libuv reads the clock from cpufreq, which virtual machines
 * often lack (it reports 0 there); /proc/cpuinfo's "cpu MHz" still has it. Machines of one model
 * name differ (two 2-vCPU "AMD EPYC" ran the benchmark 2× apart): the clock is one thing that tells.
 */
export function describeMachine(list: readonly CpuInfo[] = cpus(), cpuinfo = (): string => readFileSync('/proc/cpuinfo', 'utf8')): Machine {
  const first = list[0];
  return { cpus: list.length, model: first?.model.trim() ?? 'unknown CPU', mhz: first?.speed || mhzFromCpuinfo(cpuinfo) };
}

function mhzFromCpuinfo(cpuinfo: () => string): number {
  try {
    const match = /^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo());
    return match ? Math.round(Number(match[1])) : 0;
  } catch {
    return 0; // no /proc (not Linux)
  }
}
