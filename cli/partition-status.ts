import type { PipelineStatus } from '../core/runner.ts';

/**
 * One status line for the partitions a process runs: the latest status of each, summed. Positions
 * do not add up: `lastSeq` is the highest partition's, `ackedSeq` the lowest (every message up to
 * it is acked, whichever partition it is on; a partition with no recent messages holds it back).
 */
export function partitionStatuses(): {
  update(partition: number | undefined, status: PipelineStatus): PipelineStatus;
  /** The partition is no longer run here (handed over): its figures leave the sum. */
  remove(partition: number): void;
} {
  const latest = new Map<number | undefined, PipelineStatus>();
  return {
    remove(partition) {
      latest.delete(partition);
    },
    update(partition, status) {
      latest.set(partition, status);
      if (latest.size === 1) return status;
      const all = [...latest.values()];
      const total = (
        field:
          | 'eventsIn'
          | 'eventsPerSecond'
          | 'lag'
          | 'ackPending'
          | 'rowsWritten'
          | 'deadLetters'
          | 'lateEvents'
          | 'sinkRetries'
          | 'flushes'
          | 'checkpoints'
          | 'lastCheckpointBytes'
          | 'lastCheckpointWrittenBytes',
      ): number => all.reduce((sum, s) => sum + s[field], 0);
      return {
        eventsIn: total('eventsIn'),
        eventsPerSecond: total('eventsPerSecond'),
        lag: total('lag'),
        ackPending: total('ackPending'),
        rowsWritten: total('rowsWritten'),
        deadLetters: total('deadLetters'),
        lateEvents: total('lateEvents'),
        sinkRetries: total('sinkRetries'),
        flushes: total('flushes'),
        checkpoints: total('checkpoints'),
        lastSeq: Math.max(...all.map((s) => s.lastSeq)),
        ackedSeq: Math.min(...all.map((s) => s.ackedSeq)),
        lastFlushMs: Math.max(...all.map((s) => s.lastFlushMs)),
        lastCheckpointBytes: total('lastCheckpointBytes'),
        lastCheckpointWrittenBytes: total('lastCheckpointWrittenBytes'),
        lastCheckpointMs: Math.max(...all.map((s) => s.lastCheckpointMs)),
        operators: {},
      };
    },
  };
}
