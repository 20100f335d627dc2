import { readdirSync, readFileSync } from 'node:fs';

/** The local servers whose CPU time the benchmark puts beside the pipeline's (process names as in /proc/<pid>/comm, 15 characters at most). */
const SERVERS = { 'nats-server': 'nats-server', clickhouse: 'clickhouse-serv' } as const;
export type ServerName = keyof typeof SERVERS;

/** Clock ticks per second of /proc/<pid>/stat times: USER_HZ, 100 on Linux builds that matter here. */
const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by each local server process, by pid. */
export type ServerCpuReading = Partial<Record<ServerName, ReadonlyMap<string, number>>>;

/**
 * CPU seconds (user + system) used so far by each local server's processes, read from /proc.
 * On two cores shared by NATS, ClickHouse and the pipeline, what the servers spend per event is
 * part of the ceiling. Empty where there is no /proc or the servers run elsewhere.
 */
export function serverCpuSeconds(): ServerCpuReading {
  const out: Partial<Record<ServerName, Map<string, number>>> = {};
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const server = (Object.keys(SERVERS) as ServerName[]).find((name) => SERVERS[name] === comm);
      if (server === undefined) continue;
      const seconds = cpuSecondsOf(`/proc/${pid}/stat`);
      const pidsOfServer = out[server] ?? new Map<string, number>();
      pidsOfServer.set(pid, seconds);
      out[server] = pidsOfServer;
    } catch {
      // The process ended between listing and reading.
    }
  }
  return out;
}

/**
 * Microseconds of each server's CPU per event between two readings, over the processes present in
 * both: a server started or stopped in between (a cluster test's, on other ports) is not the one
 * the benchmark runs against, and its whole lifetime's CPU would be counted or subtracted.
 */
export function serverCpuMicrosPerEvent(before: ServerCpuReading, after: ServerCpuReading, events: number): Partial<Record<ServerName, number>> {
  const out: Partial<Record<ServerName, number>> = {};
  for (const name of Object.keys(SERVERS) as ServerName[]) {
    const a = before[name];
    const b = after[name];
    if (a === undefined || b === undefined || events <= 0) continue;
    let seconds = 0;
    for (const [pid, end] of b) {
      const start = a.get(pid);
      if (start !== undefined) seconds += end - start;
    }
    out[name] = (seconds * 1e6) / events;
  }
  return out;
}

/**
 * CPU seconds used so far by this process's main thread (the one running the operators), from
 * /proc; undefined where there is none. `process.cpuUsage()` counts every thread, V8's GC helpers
 * and libuv's pool too.
 */
export function mainThreadCpuSeconds(): number | undefined {
  try {
    return cpuSecondsOf(`/proc/self/task/${process.pid}/stat`);
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds from a /proc `stat` file (of a process or a thread). */
function cpuSecondsOf(statPath: string): number {
  // Fields after the parenthesised command: state is field 3, utime 14 and stime 15.
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
