import logUpdate from 'log-update';
import type { Assignment } from '../core/balancer.ts';
import type { PipelineStatus } from '../core/runner.ts';

/** Extra figures shown before the pipeline's (e.g. the demo's generator). */
export type StatusPrefix = () => string;

/**
 * One live status line on a terminal; on a pipe or in CI (no TTY), a plain line every 5 s, and the
 * last one at the end: the figures after the shutdown's final flush, checkpoint and ack (what a
 * container's log keeps).
 * Log messages are printed above the line.
 */
export function statusPrinter(enabled: boolean, prefix?: StatusPrefix, tty = process.stdout.isTTY === true) {
  let lastPlain = 0;
  /** The newest plain line not printed yet (within 5 s of the last one printed). */
  let unprinted: string | undefined;
  return {
    status(status: PipelineStatus): void {
      if (!enabled) return;
      const line = `${prefix ? `${prefix()} | ` : ''}${formatStatus(status)}`;
      if (tty) logUpdate(line);
      else if (Date.now() - lastPlain >= 5_000) {
        lastPlain = Date.now();
        unprinted = undefined;
        console.log(line);
      } else {
        unprinted = line;
      }
    },
    log(message: string): void {
      if (tty && enabled) logUpdate.clear();
      console.error(message);
    },
    done(): void {
      if (!enabled) return;
      if (tty) logUpdate.done();
      else if (unprinted !== undefined) console.log(unprinted);
      unprinted = undefined;
    },
  };
}

/** The partitions a balancing process runs (core/balancer.ts), for the status line. */
export function formatAssignment(a: Assignment): string {
  const processes = `${a.members} process${a.members === 1 ? '' : 'es'}`;
  return `partitions ${a.held.length > 0 ? a.held.join(',') : 'none'} of ${a.count} (${processes})`;
}

export function formatStatus(s: PipelineStatus): string {
  const n = (v: number): string => v.toLocaleString('en-US');
  return [
    `in ${n(s.eventsIn)}`,
    `${n(s.eventsPerSecond)}/s`,
    `lag ${n(s.lag)}`,
    `rows ${n(s.rowsWritten)}`,
    `DLQ ${n(s.deadLetters)}`,
    `late ${n(s.lateEvents)}`,
    `acked seq ${n(s.ackedSeq)}`,
    ...(s.lastCheckpointBytes > 0
      ? [
          `checkpoint ${(s.lastCheckpointBytes / 1e6).toFixed(1)} MB (${(s.lastCheckpointWrittenBytes / 1e6).toFixed(1)} MB written) in ${(s.lastCheckpointMs / 1000).toFixed(1)} s`,
        ]
      : []),
    ...(s.sinkRetries > 0 ? [`sink retries ${n(s.sinkRetries)}`] : []),
  ].join(' · ');
}
