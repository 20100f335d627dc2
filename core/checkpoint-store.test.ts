import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { column } from '../operators/testing.ts';
import { TypedColumn } from '../operators/typed-columns.ts';
import { testId } from '../test/support/helpers.ts';
import { type Checkpoint, CheckpointStore } from './checkpoint-store.ts';

const bucket = `ckpt_${testId()}`;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: '127.0.0.1:4222' });
});

afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(`OBJ_${bucket}`).catch(() => {});
  await nc.drain();
});

describe('CheckpointStore (real JetStream object store)', () => {
  it('round-trips a checkpoint of several MB (several chunks, streamed per operator, typed columns as bytes)', async () => {
    const store = await CheckpointStore.open(nc, bucket);
    const big = Array.from({ length: 60_000 }, (_, i) => [`key-${i}-${'x'.repeat(40)}`, i * 1.5]);
    const times = Float64Array.from({ length: 300_000 }, (_, i) => i / 3);
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
    expect(column((loaded?.operators['dedupe#1'] as { times: unknown }).times, 'float64')).toEqual([...times]);
    expect({ ...loaded, operators: { ...loaded?.operators, 'dedupe#1': undefined } }).toEqual({ ...checkpoint, operators: { ...checkpoint.operators, 'dedupe#1': undefined } });

    // Replacing it keeps exactly one readable version.
    await store.save('pipeline.p', { ...checkpoint, lastSeq: 43, operators: {} });
    expect(await store.load('pipeline.p')).toMatchObject({ lastSeq: 43, operators: {} });
    expect(await store.load('pipeline.other')).toBeUndefined();
  });
});
