import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypedColumn } from '../state/typed-columns.ts';
import { testId } from '../test/support/helpers.ts';
import { column } from '../test/support/state-values.ts';
import { CHECKPOINT_FORMAT, type Checkpoint, CheckpointStore, OutdatedCheckpoint, readableInPieces } from './checkpoint-store.ts';

const bucket = `ckpt_${testId()}`;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
});

afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(`OBJ_${bucket}`).catch(() => {});
  await nc.drain();
});

describe('readableInPieces', () => {
  it('streams views of at most maxBytes each, in order, copying nothing', async () => {
    const column = Uint8Array.from({ length: 10 }, (_, i) => i);
    async function* pieces(): AsyncGenerator<Uint8Array> {
      yield Uint8Array.of(100, 101);
      yield column;
      yield new Uint8Array(0);
      yield Uint8Array.of(102);
    }
    const read: Uint8Array[] = [];
    for await (const piece of readableInPieces(pieces(), 4)) read.push(piece);
    expect(read.map((p) => [...p])).toEqual([[100, 101], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [], [102]]);
    expect(read.slice(1, 4).every((p) => p.buffer === column.buffer)).toBe(true);
  });
});

describe('CheckpointStore (real JetStream object store)', () => {
  it('round-trips a checkpoint of several MB (several chunks, streamed per operator, typed columns as bytes, one of them 3.6 MB)', async () => {
    const store = await CheckpointStore.open(nc, bucket);
    const big = Array.from({ length: 60_000 }, (_, i) => [`key-${i}-${'x'.repeat(40)}`, i * 1.5]);
    const times = Float64Array.from({ length: 450_000 }, (_, i) => i / 3);
    const checkpoint: Checkpoint = {
      format: CHECKPOINT_FORMAT,
      pipeline: 'p',
      stream: 'S',
      lastSeq: 42,
      takenAt: 1_700_000_000_000,
      operators: { dedupe: { maxTime: 5, keys: big }, 'dedupe#1': { times: new TypedColumn(times) }, 'tumbling#0': { kind: 'tumbling', keys: [] }, empty: {} },
      counters: { rowsWritten: 7 },
    };
    expect(JSON.stringify(checkpoint).length).toBeGreaterThan(6 * 1024 * 1024);
    await store.save('pipeline.p', checkpoint);
    const loaded = await store.load('pipeline.p');
    expect(column((loaded!.operators['dedupe#1'] as { times: unknown }).times, 'float64')).toEqual([...times]);
    expect({ ...loaded, operators: { ...loaded?.operators, 'dedupe#1': undefined } }).toEqual({
      ...checkpoint,
      operators: { ...checkpoint.operators, 'dedupe#1': undefined },
    });

    // Replacing it keeps exactly one readable version.
    await store.save('pipeline.p', { ...checkpoint, lastSeq: 43, operators: {} });
    expect(await store.load('pipeline.p')).toMatchObject({ lastSeq: 43, operators: {} });
    expect(await store.load('pipeline.other')).toBeUndefined();
  });

  it('refuses a checkpoint of an earlier format, naming `rxa reset`', async () => {
    const store = await CheckpointStore.open(nc, bucket);
    const current: Checkpoint = { format: CHECKPOINT_FORMAT, pipeline: 'p', stream: 'S', lastSeq: 7, takenAt: 1, operators: {}, counters: {} };
    // Format 1, as the 0.1 builds wrote it: the same layout, an older number.
    await store.save('pipeline.old', { ...current, format: 1 } as unknown as Checkpoint);
    const refusal = store.load('pipeline.old');
    await expect(refusal).rejects.toThrow(OutdatedCheckpoint);
    await expect(refusal).rejects.toThrow("checkpoint 'pipeline.old' is format 1, this build reads format 2: run `rxa reset <pipeline>` to start over");
    // Its history copies too (what replay restores).
    await store.saveHistory('pipeline.old', { ...current, format: 1 } as unknown as Checkpoint, 5);
    await expect(store.historyBefore('pipeline.old', 8)).rejects.toThrow(/is format 1, this build reads format 2: run `rxa reset/);
    // Earlier still: the JSON alone, without the binary encoding's header.
    const objects = await new Objm(nc).open(bucket);
    await objects.putBlob({ name: 'pipeline.json' }, new TextEncoder().encode(JSON.stringify({ ...current, format: 1 })));
    await expect(store.load('pipeline.json')).rejects.toThrow("checkpoint 'pipeline.json' is format 1, this build reads format 2: run `rxa reset <pipeline>`");
    // The current format loads.
    await store.save('pipeline.new', current);
    expect(await store.load('pipeline.new')).toEqual(current);
  });
});
