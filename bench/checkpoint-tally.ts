import type { PipelineStatus } from '../core/runner.ts';

/** What a runner's status tells of its checkpoints. */
export type CheckpointStatus = Pick<PipelineStatus, 'checkpoints' | 'lastCheckpointBytes' | 'lastCheckpointWrittenBytes' | 'lastCheckpointMs'>;

/** A pipeline process prints this on stdout after each checkpoint, followed by its `CheckpointStatus` as JSON. */
export const CHECKPOINT_LINE = 'checkpoint ';

/** The checkpoints a phase's pipeline saved: how many, the largest, the bytes their saves wrote, and how long the saves took. */
export interface CheckpointFigures {
  readonly count: number;
  readonly maxBytes: number;
  readonly meanWrittenBytes: number;
  readonly meanMs: number;
  readonly maxMs: number;
}

/**
 * Collects each checkpoint's size and save time from a runner's statuses (a status reports the
 * last checkpoint; statuses come more often than checkpoints, so none is missed, except one
 * saved right before another with no status between, which the count still includes).
 */
export class CheckpointTally {
  private readonly seen = new Map<string, number>();
  private count = 0;
  private maxBytes = 0;
  private maxMs = 0;
  private totalMs = 0;
  private totalWritten = 0;
  private timed = 0;

  /** `runner` tells apart the runners of a partitioned run. */
  observe(status: CheckpointStatus, runner = ''): void {
    const before = this.seen.get(runner) ?? 0;
    if (status.checkpoints <= before) return;
    this.seen.set(runner, status.checkpoints);
    this.count += status.checkpoints - before;
    this.maxBytes = Math.max(this.maxBytes, status.lastCheckpointBytes);
    this.maxMs = Math.max(this.maxMs, status.lastCheckpointMs);
    this.totalMs += status.lastCheckpointMs;
    this.totalWritten += status.lastCheckpointWrittenBytes;
    this.timed++;
  }

  figures(): CheckpointFigures {
    const mean = (total: number) => (this.timed === 0 ? 0 : total / this.timed);
    return { count: this.count, maxBytes: this.maxBytes, meanWrittenBytes: mean(this.totalWritten), meanMs: mean(this.totalMs), maxMs: this.maxMs };
  }
}

export function formatCheckpoints(c: CheckpointFigures): string {
  if (c.count === 0) return 'none';
  const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
  return `${c.count}, largest ${mb(c.maxBytes)}, ${mb(c.meanWrittenBytes)} written per save, saves ${ms(c.meanMs)} on average, ${ms(c.maxMs)} at most`;
}
