import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  it('round-trips a checkpoint of several MB (several chunks, streamed per operator)', async () => {
    const store = await CheckpointStore.open(nc, bucket);
    const big = Array.from({ length: 60_000 }, (_, i) => [`key-${i}-${'x'.repeat(40)}`, i * 1.5]);
    const checkpoint: Checkpoint = {
      format: 1,
      pipeline: 'p',
      stream: 'S',
      lastSeq: 42,
      takenAt: 1_700_000_000_000,
      operators: { dedupe: { maxTime: 5, keys: big }, 'tumbling#0': { kind: 'tumbling', keys: [] }, empty: {} },
      counters: { rowsWritten: 7 },
    };
    expect(JSON.stringify(checkpoint).length).toBeGreaterThan(3 * 1024 * 1024);
    await store.save('pipeline.p', checkpoint);
    expect(await store.load('pipeline.p')).toEqual(checkpoint);

    // Replacing it keeps exactly one readable version.
    await store.save('pipeline.p', { ...checkpoint, lastSeq: 43, operators: {} });
    expect(await store.load('pipeline.p')).toMatchObject({ lastSeq: 43, operators: {} });
    expect(await store.load('pipeline.other')).toBeUndefined();
  });
});
