import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypedColumn } from '../state/typed-columns.ts';
import { testId } from '../test/support/helpers.ts';
import { column } from '../test/support/state-values.ts';
import { saveWholeCheckpoint } from '../test/support/whole-checkpoint.ts';
import { chunkReuse, LATEST_PACK_BOUND, packName } from './checkpoint-packs.ts';
import { CHECKPOINT_FORMAT, type Checkpoint, CheckpointStore, historyKey, readableInPieces, UnreadableCheckpoint } from './checkpoint-store.ts';

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
    const first = await store.saveChunked('pipeline.p.0', checkpoint, packName('pipeline.p', 1, 42), chunkReuse(undefined, LATEST_PACK_BOUND));
    // Nothing to reuse: all of it is written, in one pack.
    expect(first.manifest.packs).toEqual([{ name: packName('pipeline.p', 1, 42), bytes: first.manifest.bytes }]);
    expect(first.written).toBeGreaterThan(first.manifest.bytes);
    const loaded = await store.load('pipeline.p.0');
    expect(column((loaded!.operators['dedupe#1'] as { times: unknown }).times, 'float64')).toEqual([...times]);
    expect({ ...loaded, operators: { ...loaded?.operators, 'dedupe#1': undefined } }).toEqual({
      ...checkpoint,
      operators: { ...checkpoint.operators, 'dedupe#1': undefined },
    });

    // The next checkpoint: the oldest keys gone, new ones added. Only what changed is written.
    const keys = [...big.slice(1_000), ['new', 1]];
    const next: Checkpoint = { ...checkpoint, lastSeq: 43, operators: { ...checkpoint.operators, dedupe: { maxTime: 6, keys } } };
    const second = await store.saveChunked('pipeline.p.1', next, packName('pipeline.p', 1, 43), chunkReuse(first.manifest, LATEST_PACK_BOUND));
    expect(second.manifest.packs.map((p) => p.name)).toEqual([packName('pipeline.p', 1, 43), packName('pipeline.p', 1, 42)]);
    expect(second.written).toBeLessThan(second.manifest.bytes / 10);
    expect(await store.load('pipeline.p.1')).toMatchObject({ lastSeq: 43, operators: { dedupe: { maxTime: 6, keys } } });
    // Unchanged: no pack at all, the manifest alone.
    const third = await store.saveChunked('pipeline.p.0', next, packName('pipeline.p', 1, 44), chunkReuse(second.manifest, LATEST_PACK_BOUND));
    expect(await store.names(packName('pipeline.p', 1, 44))).toEqual([]);
    expect(third.written).toBeLessThan(20_000);
    expect(await store.load('pipeline.p.0')).toMatchObject({ lastSeq: 43 });
    expect(await store.load('pipeline.other')).toBeUndefined();
  });

  it('passes over a history copy whose packs are gone for the one before it', async () => {
    const store = await CheckpointStore.open(nc, bucket);
    const state = (lastSeq: number): Checkpoint => ({
      format: CHECKPOINT_FORMAT,
      pipeline: 'p',
      stream: 'S',
      lastSeq,
      takenAt: 1,
      operators: { n: lastSeq },
      counters: {},
    });
    for (const seq of [10, 20]) {
      const { manifest } = await store.saveChunked(
        historyKey('pipeline.h', seq),
        state(seq),
        packName('pipeline.h', 1, seq),
        chunkReuse(undefined, LATEST_PACK_BOUND),
      );
      expect(manifest.packs).toHaveLength(1);
    }
    await store.delete(packName('pipeline.h', 1, 20));
    await expect(store.load(historyKey('pipeline.h', 20))).rejects.toThrow(`its pack '${packName('pipeline.h', 1, 20)}' is gone`);
    expect(await store.historyBefore('pipeline.h', 25)).toMatchObject({ lastSeq: 10 });
  });

  it('refuses a checkpoint of an earlier format, naming `rxa reset`', async () => {
    const store = await CheckpointStore.open(nc, bucket);
    const current: Checkpoint = { format: CHECKPOINT_FORMAT, pipeline: 'p', stream: 'S', lastSeq: 7, takenAt: 1, operators: {}, counters: {} };
    // Format 1, as the 0.1 builds wrote it: the same layout, an older number.
    await saveWholeCheckpoint(nc, bucket, 'pipeline.old', { ...current, format: 1 });
    const refusal = store.load('pipeline.old');
    await expect(refusal).rejects.toThrow(UnreadableCheckpoint);
    await expect(refusal).rejects.toThrow("checkpoint 'pipeline.old' is format 1, this build reads formats 2 and 3: run `rxa reset <pipeline>` to start over");
    // Its history copies too (what replay restores).
    await saveWholeCheckpoint(nc, bucket, historyKey('pipeline.old', 7), { ...current, format: 1 });
    await expect(store.historyBefore('pipeline.old', 8)).rejects.toThrow(/is format 1, this build reads formats 2 and 3: run `rxa reset/);
    // Earlier still: the JSON alone, without the binary encoding's header.
    const objects = await new Objm(nc).open(bucket);
    await objects.putBlob({ name: 'pipeline.json' }, new TextEncoder().encode(JSON.stringify({ ...current, format: 1 })));
    await expect(store.load('pipeline.json')).rejects.toThrow(
      "checkpoint 'pipeline.json' is format 1, this build reads formats 2 and 3: run `rxa reset <pipeline>`",
    );
    // The current format stored whole (before manifests) loads.
    await saveWholeCheckpoint(nc, bucket, 'pipeline.new', current);
    expect(await store.loadStored('pipeline.new')).toEqual({ checkpoint: current, manifest: undefined });
  });

  it("restores format 2 (its columns are a subset of 3's) and refuses a later build's format", async () => {
    const store = await CheckpointStore.open(nc, bucket);
    const earlier: Checkpoint = { format: 2, pipeline: 'p', stream: 'S', lastSeq: 9, takenAt: 1, operators: { op: { n: 1 } }, counters: {} };
    await saveWholeCheckpoint(nc, bucket, 'pipeline.two', earlier);
    expect(await store.load('pipeline.two')).toEqual(earlier);
    // A downgrade: what a later build wrote, with columns this one cannot tell apart from its own.
    await saveWholeCheckpoint(nc, bucket, 'pipeline.later', { ...earlier, format: CHECKPOINT_FORMAT + 1 });
    const refusal = store.load('pipeline.later');
    await expect(refusal).rejects.toThrow(UnreadableCheckpoint);
    await expect(refusal).rejects.toThrow(
      `checkpoint 'pipeline.later' is format ${CHECKPOINT_FORMAT + 1}, written by a later build; this build reads formats 2 and 3: run that build (or a later one), or run \`rxa reset <pipeline>\``,
    );
  });
});
