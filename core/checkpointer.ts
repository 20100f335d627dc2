import { logRetries, retry } from '../common/retry.ts';
import { releaseSnapshot, SnapshotBuffers } from '../state/snapshot-buffers.ts';
import { CHECKPOINT_FORMAT, type Checkpoint } from './checkpoint-store.ts';
import type { CutTrace } from './cut-tracing.ts';
import type { Cut } from './engine.ts';
import type { Checkpoints, CutPosition } from './feed.ts';
import { LeaseLost } from './lease.ts';
import type { PipelineSettings } from './pipeline.ts';

/** What fences checkpoints: `confirm` throws once another process holds the runner's lease (see core/lease.ts). */
export interface CheckpointFence {
  confirm(): Promise<void>;
}

/**
 * Where the runner's checkpoints go: `save` makes one its latest (core/latest-checkpoint.ts;
 * resolves with the bytes it wrote and the checkpoint's size, rejects with `LeaseLost` once another
 * process claimed it), `saveHistory` keeps a copy of the one just saved for replay.
 */
export interface CheckpointSaver {
  save(checkpoint: Checkpoint): Promise<{ written: number; bytes: number }>;
  saveHistory(checkpoint: Checkpoint, keep: number): Promise<void>;
}

export interface CheckpointerOptions {
  pipeline: string;
  stream: string;
  settings: Pick<PipelineSettings, 'checkpointIntervalMs' | 'checkpointEveryMessages' | 'checkpointHistoryIntervalMs' | 'checkpointHistoryKeep'>;
  lease: CheckpointFence;
  store: CheckpointSaver;
  /** Saved with each checkpoint, read when it is saved (the cut writer's counters: restored with it). */
  counters: () => Readonly<Record<string, number>>;
  /** The restored checkpoint's position (everything up to it is acked), 0 without one. */
  ackedSeq: number;
  /** When the newest historical checkpoint was saved (epoch ms), 0 without one: the history's spacing holds across restarts. */
  historySavedAt: number;
  /** Aborting ends a save's retries: it fails, and the run with it (nothing is acked). */
  signal: AbortSignal;
  log: (message: string) => void;
}

/**
 * The live runner's checkpoints, from deciding to take one to giving its memory back.
 *
 * - When: every `checkpointIntervalMs`, or once `checkpointEveryMessages` came since the last one
 *   (before the consumer's `maxAckPending` stops deliveries), and at the last cut.
 * - Whether: never while one is being saved (at most one in flight; the feed's last cut waits for
 *   it, see `settled`), and not without a message since the last ack.
 * - How (`save`), once the cut's rows and every earlier cut's are written: confirm the lease, save
 *   the state with the position (retried until it lands or `signal` aborts), confirm the lease again
 *   (a save retried through an outage can outlast it; and the save itself is fenced, so one that
 *   was in flight while another process took over cannot land as the latest), ack (AckAll: the cut's last message acks
 *   everything before it), keep a copy in the history every `checkpointHistoryIntervalMs` (replay
 *   restores those), and give the snapshot's memory back (`buffers`, see
 *   state/snapshot-buffers.ts). Acked input is never needed again: the state that reflects it is
 *   saved and its rows are written.
 *
 * It keeps the figures the status shows: checkpoints saved, the last one's size and save time, and
 * the position acked.
 */
export class Checkpointer implements Checkpoints {
  /** The snapshots' columns, reused from checkpoint to checkpoint: the engine takes each snapshot into them. */
  readonly buffers = new SnapshotBuffers();
  /** Everything up to this stream sequence is saved and acked. */
  ackedSeq: number;
  /** Checkpoints saved by this run (each followed by an ack). */
  checkpoints = 0;
  /** The last checkpoint's size, the bytes saving it wrote (what changed since the one before), and how long saving it took (encoding and upload, retries included); 0 before the first. */
  lastCheckpointBytes = 0;
  lastCheckpointWrittenBytes = 0;
  lastCheckpointMs = 0;
  /** The first save that failed, if any. */
  failure: unknown;
  private lastCheckpointAt = Date.now();
  private lastHistoryAt: number;
  /** The save in flight, if any (it never rejects: failures land in `failure`). */
  private inFlight: Promise<void> | undefined;

  constructor(private readonly options: CheckpointerOptions) {
    this.ackedSeq = options.ackedSeq;
    this.lastHistoryAt = options.historySavedAt;
  }

  due(lastSeq: number, final: boolean): boolean {
    if (lastSeq <= this.ackedSeq) return false;
    if (final) return true;
    if (this.inFlight !== undefined) return false;
    const { checkpointIntervalMs, checkpointEveryMessages } = this.options.settings;
    return Date.now() - this.lastCheckpointAt >= checkpointIntervalMs || lastSeq - this.ackedSeq >= checkpointEveryMessages;
  }

  settled(): Promise<void> {
    return this.inFlight ?? Promise.resolve();
  }

  save(cut: Cut, position: CutPosition): Promise<void> {
    // Behind the one in flight, if any: cuts snapshot only when none is, but the order of saves
    // (and of acks) must hold regardless.
    const saving = (this.inFlight ?? Promise.resolve()).then(() => this.take(cut, position));
    const tracked: Promise<void> = saving.then(
      () => this.landed(tracked),
      (error: unknown) => {
        this.failure ??= error;
        this.landed(tracked);
      },
    );
    this.inFlight = tracked;
    return saving;
  }

  private landed(save: Promise<void>): void {
    if (this.inFlight === save) this.inFlight = undefined;
  }

  /** Fenced save, ack, history, then the snapshot's memory back; in spans of their own when the cut was sampled (core/cut-tracing.ts). */
  private async take(cut: Cut, position: CutPosition): Promise<void> {
    const { snapshot } = cut;
    if (!snapshot || position.seq <= this.ackedSeq) return;
    const { trace } = position;
    if (trace === undefined) return this.saveAndAck(snapshot, position, undefined);
    return trace.checkpoint(position.seq, (under) => this.saveAndAck(snapshot, position, under));
  }

  private async saveAndAck(snapshot: Record<string, unknown>, position: CutPosition, trace: CutTrace | undefined): Promise<void> {
    const { options } = this;
    const { settings, lease, store, log } = options;
    // Still this process's to save and ack (throws once another process holds it).
    await lease.confirm();
    const checkpoint: Checkpoint = {
      format: CHECKPOINT_FORMAT,
      pipeline: options.pipeline,
      stream: options.stream,
      lastSeq: position.seq,
      takenAt: Date.now(),
      operators: snapshot,
      counters: { ...options.counters() },
    };
    const started = performance.now();
    // Fenced (see core/latest-checkpoint.ts): a save that finds another process's claim fails, unretried.
    const saved = await retry(() => store.save(checkpoint), {
      signal: options.signal,
      retryable: (error) => !(error instanceof LeaseLost),
      onRetry: logRetries(log, 'checkpoint save'),
    });
    // A save retried through an outage can outlast the lease: confirm again before acking.
    await lease.confirm();
    const { msg } = position;
    if (trace !== undefined && msg !== undefined) trace.ack(position.seq, () => msg.ack());
    else msg?.ack();
    this.ackedSeq = position.seq;
    this.checkpoints++;
    this.lastCheckpointBytes = saved.bytes;
    this.lastCheckpointWrittenBytes = saved.written;
    this.lastCheckpointAt = Date.now();
    this.lastCheckpointMs = performance.now() - started;
    if (this.lastCheckpointAt - this.lastHistoryAt >= settings.checkpointHistoryIntervalMs) {
      // Replay restores the latest of these at or before its start (see core/replay.ts).
      this.lastHistoryAt = this.lastCheckpointAt;
      await store.saveHistory(checkpoint, settings.checkpointHistoryKeep).catch((error: unknown) => log(`could not save checkpoint history: ${String(error)}`));
    }
    // Saved: its columns' memory serves the next snapshot (see state/snapshot-buffers.ts).
    releaseSnapshot(snapshot);
  }
}
