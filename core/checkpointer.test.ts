import type { JsMsg } from '@nats-io/jetstream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { float64Column, withSnapshotBuffers } from '../state/snapshot-buffers.ts';
import { TypedColumn } from '../state/typed-columns.ts';
import { CHECKPOINT_FORMAT, type Checkpoint } from './checkpoint-store.ts';
import { Checkpointer, type CheckpointerOptions } from './checkpointer.ts';
import type { Cut } from './engine.ts';
import type { CutPosition } from './feed.ts';
import { LeaseLost } from './lease.ts';
import { PipelineSettings } from './pipeline.ts';

/** What the fakes saw, in order: lease confirmations, saves, history copies and acks. */
let events: string[];
let logs: string[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance', 'Date'] });
  vi.setSystemTime(1_700_000_000_000);
  events = [];
  logs = [];
});

afterEach(() => {
  vi.useRealTimers();
});

/** A lease that holds unless told otherwise; a store that keeps what it is given. */
function checkpointer(overrides: Partial<Omit<CheckpointerOptions, 'settings'>> & { settings?: Partial<CheckpointerOptions['settings']> } = {}): Checkpointer {
  const { settings, ...rest } = overrides;
  return new Checkpointer({
    pipeline: 'p',
    stream: 'S',
    settings: { ...PipelineSettings.parse({ checkpointIntervalMs: 1_000, checkpointEveryMessages: 100, checkpointHistoryIntervalMs: 60_000 }), ...settings },
    lease: {
      confirm: async () => void events.push('confirm'),
    },
    store: {
      save: async (checkpoint) => {
        events.push(`save ${checkpoint.lastSeq}`);
        return { written: 1_000 + checkpoint.lastSeq, bytes: 1_000 + checkpoint.lastSeq };
      },
      saveHistory: async (checkpoint, keep) => void events.push(`history ${checkpoint.lastSeq} keep ${keep}`),
    },
    counters: () => ({ rowsWritten: 7 }),
    ackedSeq: 0,
    historySavedAt: 0,
    signal: new AbortController().signal,
    log: (message) => logs.push(message),
    ...rest,
  });
}

function cutWith(snapshot: Record<string, unknown> | undefined = { op: { n: 1 } }): Cut {
  return { rows: new Map(), deadLetters: [], late: [], snapshot };
}

function at(seq: number): CutPosition {
  return { seq, msg: { ack: () => void events.push(`ack ${seq}`) } as unknown as JsMsg };
}

describe('Checkpointer: when and whether', () => {
  it('wants a snapshot every checkpointIntervalMs, or once checkpointEveryMessages came since the last ack', async () => {
    const c = checkpointer({ ackedSeq: 10 });
    expect(c.due(50, false)).toBe(false);
    expect(c.due(109, false)).toBe(false);
    expect(c.due(110, false)).toBe(true); // 100 messages since the restored position
    await vi.advanceTimersByTimeAsync(1_000);
    expect(c.due(11, false)).toBe(true); // an interval since the start
    await c.save(cutWith(), at(11));
    expect(c.due(12, false)).toBe(false); // the interval counts from the last checkpoint
    expect(c.due(111, false)).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(c.due(12, false)).toBe(true);
  });

  it('wants none with nothing new since the last ack, even at the last cut', async () => {
    const c = checkpointer({ ackedSeq: 10 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.due(10, false)).toBe(false);
    expect(c.due(10, true)).toBe(false);
    expect(c.due(11, true)).toBe(true);
  });

  it('wants none while a checkpoint is being saved, except the last cut (which waits for it: settled)', async () => {
    let land!: () => void;
    const c = checkpointer({
      store: {
        save: async (checkpoint) => {
          events.push(`save ${checkpoint.lastSeq}`);
          await new Promise<void>((resolve) => (land = resolve));
          return { written: 1, bytes: 1 };
        },
        saveHistory: async () => {},
      },
    });
    await vi.advanceTimersByTimeAsync(1_000);
    const saving = c.save(cutWith(), at(5));
    const settled = vi.fn();
    void c.settled().then(settled);
    await vi.waitFor(() => expect(events).toContain('save 5'));
    expect(c.due(500, false)).toBe(false);
    expect(c.due(500, true)).toBe(true);
    expect(settled).not.toHaveBeenCalled();
    land();
    await saving;
    await vi.waitFor(() => expect(settled).toHaveBeenCalled());
    expect(c.due(500, false)).toBe(true);
  });
});

describe('Checkpointer: how', () => {
  it('confirms the lease, saves, confirms again, acks, and keeps the figures the status shows', async () => {
    const saved: Checkpoint[] = [];
    const c = checkpointer({
      store: {
        save: async (checkpoint) => {
          events.push(`save ${checkpoint.lastSeq}`);
          saved.push(checkpoint);
          vi.advanceTimersByTime(40); // encoding and upload
          return { written: 512, bytes: 4_096 };
        },
        saveHistory: async () => {},
      },
    });
    await c.save(cutWith({ op: { n: 3 } }), at(42));
    expect(events).toEqual(['confirm', 'save 42', 'confirm', 'ack 42']);
    expect(saved).toEqual([
      {
        format: CHECKPOINT_FORMAT,
        pipeline: 'p',
        stream: 'S',
        lastSeq: 42,
        takenAt: 1_700_000_000_000,
        operators: { op: { n: 3 } },
        counters: { rowsWritten: 7 },
      },
    ]);
    expect({
      ackedSeq: c.ackedSeq,
      checkpoints: c.checkpoints,
      bytes: c.lastCheckpointBytes,
      written: c.lastCheckpointWrittenBytes,
      ms: c.lastCheckpointMs,
    }).toEqual({
      ackedSeq: 42,
      checkpoints: 1,
      bytes: 4_096,
      written: 512,
      ms: 40,
    });
    expect(c.failure).toBeUndefined();
  });

  it('neither saves nor acks once another process holds the lease', async () => {
    const lost = new Error('lost the lease');
    const c = checkpointer({ lease: { confirm: () => Promise.reject(lost) } });
    await expect(c.save(cutWith(), at(5))).rejects.toBe(lost);
    expect(events).toEqual([]);
    expect(c.failure).toBe(lost);
    expect({ ackedSeq: c.ackedSeq, checkpoints: c.checkpoints }).toEqual({ ackedSeq: 0, checkpoints: 0 });
  });

  it('does not ack a save that outlasted the lease', async () => {
    let confirmations = 0;
    const lost = new Error('lost the lease');
    const c = checkpointer({
      lease: {
        confirm: async () => {
          if (++confirmations > 1) throw lost;
        },
      },
    });
    await expect(c.save(cutWith(), at(5))).rejects.toBe(lost);
    expect(events).toEqual(['save 5']);
    expect(c.ackedSeq).toBe(0);
  });

  it('retries a failed save (logged) until it lands, and gives up when its signal aborts', async () => {
    let failures = 2;
    const store = {
      save: async (checkpoint: Checkpoint) => {
        if (failures-- > 0) throw new Error('no responders');
        events.push(`save ${checkpoint.lastSeq}`);
        return { written: 1, bytes: 1 };
      },
      saveHistory: async () => {},
    };
    const c = checkpointer({ store });
    const saving = c.save(cutWith(), at(5));
    await vi.advanceTimersByTimeAsync(100 + 200); // the backoff: 100 ms, then 200
    await saving;
    expect(events).toEqual(['confirm', 'save 5', 'confirm', 'ack 5']);
    expect(logs).toEqual([expect.stringMatching(/^checkpoint save failed \(attempt 1\), retrying in 100 ms: Error: no responders/)]);
    expect(c.lastCheckpointMs).toBe(300);

    failures = Number.POSITIVE_INFINITY;
    const shutdown = new AbortController();
    const stopped = checkpointer({ store, signal: shutdown.signal });
    const giving = stopped.save(cutWith(), at(6));
    const outcome = giving.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(1_000);
    shutdown.abort();
    expect(await outcome).toEqual(new Error('no responders'));
    expect(stopped.ackedSeq).toBe(0);
  });

  it('saves one at a time, in order; a cut at or before the acked position is not saved again', async () => {
    const landings: Array<() => void> = [];
    const c = checkpointer({
      store: {
        save: async (checkpoint) => {
          events.push(`save ${checkpoint.lastSeq}`);
          await new Promise<void>((resolve) => landings.push(resolve));
          return { written: 1, bytes: 1 };
        },
        saveHistory: async () => {},
      },
    });
    const first = c.save(cutWith(), at(5));
    const second = c.save(cutWith(), at(9));
    const stale = c.save(cutWith(), at(9));
    await vi.waitFor(() => expect(landings).toHaveLength(1));
    expect(events).toEqual(['confirm', 'save 5']); // the second waits for the first
    landings[0]!();
    await first;
    await vi.waitFor(() => expect(landings).toHaveLength(2));
    landings[1]!();
    await Promise.all([second, stale]);
    await c.settled();
    expect(events).toEqual(['confirm', 'save 5', 'confirm', 'ack 5', 'confirm', 'save 9', 'confirm', 'ack 9']);
    expect(c.checkpoints).toBe(2);
  });

  it('keeps a copy in the history every checkpointHistoryIntervalMs, spaced from the newest one across restarts; a failed copy is only logged', async () => {
    // A restart 50 s after the newest copy: the next one is due 10 s later.
    const c = checkpointer({ historySavedAt: Date.now() - 50_000, settings: { checkpointHistoryKeep: 3 } });
    await c.save(cutWith(), at(1));
    await vi.advanceTimersByTimeAsync(10_000);
    await c.save(cutWith(), at(2));
    await vi.advanceTimersByTimeAsync(30_000);
    await c.save(cutWith(), at(3));
    expect(events.filter((e) => e.startsWith('history'))).toEqual(['history 2 keep 3']);
    // After the ack: the copy is for replay, the position is already saved.
    expect(events.indexOf('history 2 keep 3')).toBe(events.indexOf('ack 2') + 1);

    const failing = checkpointer({
      store: {
        save: async () => ({ written: 1, bytes: 1 }),
        saveHistory: async () => {
          throw new Error('object store unavailable');
        },
      },
    });
    await failing.save(cutWith(), at(4));
    expect(failing.ackedSeq).toBe(4);
    expect(logs).toEqual(['could not save checkpoint history: Error: object store unavailable']);
  });

  it('gives the snapshot memory back once the checkpoint is saved, for the next snapshot', async () => {
    const c = checkpointer();
    const take = (): Record<string, unknown> => withSnapshotBuffers(c.buffers, () => ({ op: { values: new TypedColumn(float64Column(10_000)) } }));
    await c.save(cutWith(take()), at(1)); // the first snapshot sizes the slab
    const second = take();
    expect(c.buffers.freeBytes).toBe(0); // the slab is the snapshot's until it is saved
    await c.save(cutWith(second), at(2));
    expect(c.buffers.freeBytes).toBeGreaterThanOrEqual(80_000);
    const buffer = ((second.op as { values: TypedColumn }).values as TypedColumn).buffer;
    expect(((take().op as { values: TypedColumn }).values as TypedColumn).buffer).toBe(buffer);
  });

  it('keeps the snapshot memory of a checkpoint that was not saved', async () => {
    const c = checkpointer({ lease: { confirm: () => Promise.reject(new Error('lost')) } });
    const take = (): Record<string, unknown> => withSnapshotBuffers(c.buffers, () => ({ op: { values: new TypedColumn(float64Column(10_000)) } }));
    await c.save(cutWith(take()), at(1)).catch(() => {});
    await c.save(cutWith(take()), at(2)).catch(() => {});
    expect(c.buffers.freeBytes).toBe(0);
  });
});

describe('checkpointEveryMessages', () => {
  it('defaults to half of maxAckPending (rounded up), the trigger it was before it had a setting', () => {
    expect(PipelineSettings.parse({}).checkpointEveryMessages).toBe(500_000);
    expect(PipelineSettings.parse({ maxAckPending: 1_001 }).checkpointEveryMessages).toBe(501);
    expect(PipelineSettings.parse({ maxAckPending: 1_000, checkpointEveryMessages: 999 }).checkpointEveryMessages).toBe(999);
  });

  it('must stay below maxAckPending, where the server stops delivering', () => {
    const result = PipelineSettings.safeParse({ maxAckPending: 1_000, checkpointEveryMessages: 1_000 });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['checkpointEveryMessages'], message: expect.stringMatching(/^must be below maxAckPending/) }),
    ]);
  });
});

describe('Checkpointer: fenced saves', () => {
  it('neither retries nor acks a save the store fenced off (another process claimed the checkpoint)', async () => {
    const fenced = new LeaseLost('pipeline.p', 'another process claimed its checkpoint');
    let attempts = 0;
    const c = checkpointer({
      store: {
        save: async () => {
          attempts++;
          throw fenced;
        },
        saveHistory: async () => {},
      },
    });
    await expect(c.save(cutWith(), at(5))).rejects.toBe(fenced);
    expect(attempts).toBe(1);
    expect(events).toEqual(['confirm']);
    expect(c.ackedSeq).toBe(0);
  });
});
