import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypedColumn } from '../state/typed-columns.ts';
import { testId } from '../test/support/helpers.ts';
import { column } from '../test/support/state-values.ts';
import { type Checkpoint, CheckpointStore, readableInPieces } from './checkpoint-store.ts';

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
      format: 1,
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
});
