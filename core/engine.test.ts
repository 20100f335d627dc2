import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { defineTable } from '../sinks/clickhouse/table.ts';
import { releaseSnapshot, SnapshotBuffers } from '../state/snapshot-buffers.ts';
import { TypedColumn } from '../state/typed-columns.ts';
import { Click, context, pageViewsPipeline as definition, views } from '../test/fixtures/page-views-pipeline.ts';
import { column } from '../test/support/state-values.ts';
import { PipelineEngine, type SourceRecord } from './engine.ts';
import { definePipeline } from './pipeline.ts';

let seq = 0;
function record(page: string, ts: number): SourceRecord {
  return { payload: new TextEncoder().encode(JSON.stringify({ page, ts })), subject: 'page.views.test.0', seq: ++seq, published: ts };
}

describe('PipelineEngine.cut', () => {
  it('leaves early window results for a later cut when asked to, keeping them dirty in the snapshot', () => {
    const engine = new PipelineEngine(definition, context);
    engine.push(record('/a', 1_000));
    engine.push(record('/a', 2_000));

    const quiet = engine.cut(new SnapshotBuffers(), false);
    expect(quiet.rows.get(views)?.decode()).toEqual([]);
    const snapshot = JSON.parse(JSON.stringify(quiet.snapshot)) as { views: { counts: string; flags: string } };
    expect(column(snapshot.views.counts, 'uint32')).toEqual([2]);
    expect(column(snapshot.views.flags, 'uint8')).toEqual([1]); // changed, never emitted

    // A checkpoint taken then restores the unemitted result: it is emitted after the restore.
    const restored = new PipelineEngine(definition, context, JSON.parse(JSON.stringify(quiet.snapshot)) as Record<string, unknown>);
    expect(restored.cut(undefined, true).rows.get(views)?.decode()).toEqual([{ rxa_partition: 0, window_start: 0, page: '/a', views: 2, version: 2 }]);

    engine.push(record('/a', 3_000));
    expect(engine.cut(undefined, true).rows.get(views)?.decode()).toEqual([{ rxa_partition: 0, window_start: 0, page: '/a', views: 3, version: 3 }]);
    expect(engine.cut(undefined, true).rows.get(views)?.length).toBe(0);
  });
});

describe('PipelineEngine snapshot memory', () => {
  // 10k windows: their count column (80 KB) is large enough to come from a pool.
  const countsBuffer = (snapshot: Record<string, unknown> | undefined): ArrayBufferLike => {
    const counts = (snapshot?.views as { counts: unknown } | undefined)?.counts;
    if (!(counts instanceof TypedColumn)) throw new Error('no counts column');
    return counts.buffer;
  };
  const fill = (engine: PipelineEngine, pages: number): void => {
    for (let i = 0; i < pages; i++) engine.push(record(`/p${i}`, 1_000));
  };

  it("takes each engine's snapshot columns from the buffers it is handed (a checkpointer's), reused by its next snapshot once released", () => {
    const a = new PipelineEngine(definition, context);
    const b = new PipelineEngine(definition, context);
    const aBuffers = new SnapshotBuffers();
    const bBuffers = new SnapshotBuffers();
    fill(a, 10_000);
    fill(b, 10_000);
    // The first snapshots size each one's slab.
    releaseSnapshot(a.cut(aBuffers, false).snapshot);
    releaseSnapshot(b.cut(bBuffers, false).snapshot);
    const first = a.cut(aBuffers, false).snapshot;
    const other = b.cut(bBuffers, false).snapshot;
    expect(countsBuffer(other)).not.toBe(countsBuffer(first));
    releaseSnapshot(first);
    releaseSnapshot(other);
    // Engines checkpointing side by side (partitions in one process) each reuse their own.
    expect(countsBuffer(a.cut(aBuffers, false).snapshot)).toBe(countsBuffer(first));
    expect(countsBuffer(b.cut(bBuffers, false).snapshot)).toBe(countsBuffer(other));
  });
});

describe('PipelineEngine side outputs', () => {
  it('hands dead letters over with early results or a snapshot, and holds them in the cuts between', () => {
    const engine = new PipelineEngine(definition, context);
    engine.push({ payload: new TextEncoder().encode('not json'), subject: 'page.views.test.0', seq: 1, published: 0 });
    expect(engine.cut(undefined, false).deadLetters).toEqual([]);
    expect(engine.bufferedSideOutputs).toBe(1);
    expect(engine.cut(undefined, true).deadLetters).toMatchObject([{ stage: 'validate', origin: { seq: 1 } }]);
    engine.push({ payload: new TextEncoder().encode('not json'), subject: 'page.views.test.0', seq: 2, published: 0 });
    // A checkpoint acks the input the snapshot reflects: its cut must take their dead letters.
    expect(engine.cut(new SnapshotBuffers(), false).deadLetters).toMatchObject([{ origin: { seq: 2 } }]);
    expect(engine.bufferedSideOutputs).toBe(0);
  });

  // Received payloads are views into a larger read shared by the messages around them; the NATS
  // client's are Node Buffers, whose `slice` is a view too.
  it.each([
    ['Uint8Array', () => new Uint8Array(65_536)],
    ['Buffer', () => Buffer.alloc(65_536)],
  ])('keeps a copy of a side output source bytes, not a view into the socket read they came in (%s)', (_, allocate) => {
    const engine = new PipelineEngine(definition, context);
    const read = allocate();
    const bytes = new TextEncoder().encode('not json');
    read.set(bytes, 100);
    engine.push({ payload: read.subarray(100, 100 + bytes.length), subject: 'page.views.test.0', seq: 1, published: 0 });
    const [letter] = engine.cut(undefined, true).deadLetters;
    for (const held of [letter?.payload, letter?.origin?.payload]) {
      expect(held).toEqual(bytes);
      expect((held as Uint8Array).buffer.byteLength).toBe(bytes.length);
    }
  });
});

describe('PipelineEngine rows', () => {
  it('dead-letters a row that cannot be encoded, with its source, and keeps the others', () => {
    const numbers = defineTable('numbers', { columns: { page: 'String', n: 'UInt64' }, orderBy: ['page'] });
    const engine = new PipelineEngine(
      definePipeline({
        name: 'engine_rows_test',
        source: { stream: 'ENGINE_ROWS_TEST', subjects: ['engine.rows.>'] },
        schema: Click,
        tables: { numbers },
        // An object with no way to become text slips through the row type by a cast: encoding it throws.
        build: (clicks) => ({ numbers: clicks.pipe(map((c) => ({ page: c.page, n: (c.page === '/big' ? Object.create(null) : 1) as number }))) }),
      }),
      context,
    );
    const big = record('/big', 1_000);
    engine.push(record('/a', 1_000));
    engine.push(big);
    engine.push(record('/b', 2_000));
    const cut = engine.cut(undefined);
    expect(
      cut.rows
        .get(numbers)
        ?.decode()
        .map((r) => r.page),
    ).toEqual(['/a', '/b']);
    expect(cut.deadLetters).toHaveLength(1);
    expect(cut.deadLetters[0]).toMatchObject({ stage: 'clickhouse:numbers', origin: big });
    expect(cut.deadLetters[0]?.reason).toMatch(/row cannot be encoded: TypeError.*primitive/);
    expect(cut.deadLetters[0]?.payload).toContain('null prototype');
  });
});
