/**
 * Fenced checkpoints against the local NATS: a holder that lost its lease while a save was in
 * flight can neither replace the new holder's checkpoint nor ack past it.
 */
import { randomInt } from 'node:crypto';
import { AckPolicy, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypedColumn } from '../state/typed-columns.ts';
import { testId, waitFor } from '../test/support/helpers.ts';
import { saveWholeCheckpoint } from '../test/support/whole-checkpoint.ts';
import { packPrefix } from './checkpoint-packs.ts';
import { CHECKPOINT_FORMAT, type Checkpoint, CheckpointStore, checkpointStreams } from './checkpoint-store.ts';
import { Checkpointer } from './checkpointer.ts';
import { configFromEnv } from './config.ts';
import { type CheckpointObjects, checkpointPointerKey, deleteLatestCheckpoint, LatestCheckpoint } from './latest-checkpoint.ts';
import { Lease, LeaseLost, leaseBucket, leaseStore } from './lease.ts';
import { PipelineSettings } from './pipeline.ts';

const id = testId();
const bucket = `rxa_fence_${id}`;
const stream = `FENCE_${id}`;
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: configFromEnv().nats.servers });
});

afterAll(async () => {
  const jsm = await jetstreamManager(nc);
  for (const name of [stream, ...checkpointStreams(bucket)]) await jsm.streams.delete(name).catch(() => {});
  await nc.close();
});

/** The store as the latest checkpoint uses it, with some of its methods replaced (to pause them). */
function objectsOf(store: CheckpointStore, replaced: Partial<CheckpointObjects>): CheckpointObjects {
  return {
    loadStored: (name) => store.loadStored(name),
    saveChunked: (name, state, pack, reuse) => store.saveChunked(name, state, pack, reuse),
    manifest: (name) => store.manifest(name),
    delete: (name) => store.delete(name),
    names: (prefix) => store.names(prefix),
    objects: (prefix) => store.objects(prefix),
    trimHistory: (key, keep) => store.trimHistory(key, keep),
    ...replaced,
  };
}

function checkpoint(lastSeq: number, owner: string): Checkpoint {
  return { format: CHECKPOINT_FORMAT, pipeline: 'p', stream, lastSeq, takenAt: Date.now(), operators: { owner }, counters: {} };
}

/** Ten messages on a durable consumer that acks all up to the one acked (as a pipeline's does). */
async function tenMessages(durable: string): Promise<{ messages: JsMsg[]; ackFloor: () => Promise<number> }> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] }).catch(() => {});
  const js = jetstream(nc);
  for (let i = 0; i < 10; i++) await js.publish(`${stream}.x`, `m${i}`);
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.All });
  const consumer = await js.consumers.get(stream, durable);
  const messages: JsMsg[] = [];
  for await (const m of await consumer.fetch({ max_messages: 10, expires: 5_000 })) {
    messages.push(m);
    if (messages.length === 10) break;
  }
  return { messages, ackFloor: async () => (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq };
}

describe('LatestCheckpoint', () => {
  it("fences off a save in flight when another process takes over: the new holder's state wins, nothing is acked past it", async () => {
    const key = 'pipeline.p.p0';
    const kv = await leaseStore(nc, leaseBucket(bucket));
    const store = await CheckpointStore.open(nc, bucket);
    const { messages, ackFloor } = await tenMessages('race');
    // The old holder, A, with a TTL long enough that its own renewals do not find the takeover
    // during the test: as a process paused mid-save would not.
    const leaseA = await Lease.acquire(nc, leaseBucket(bucket), key, { ttlMs: 600_000, signal: new AbortController().signal });
    let saveStarted!: () => void;
    const started = new Promise<void>((resolve) => (saveStarted = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    // A's object store pauses its second save between "save started" and its object being stored.
    const pausing = objectsOf(store, {
      saveChunked: async (name, state, pack, reusable) => {
        if (state.lastSeq === 10) {
          saveStarted();
          await resumed;
        }
        return store.saveChunked(name, state, pack, reusable);
      },
    });
    const a = await LatestCheckpoint.claim(kv, pausing, key, leaseA.id);
    expect(a.checkpoint).toBeUndefined();
    const checkpointerA = new Checkpointer({
      pipeline: 'p',
      stream,
      settings: PipelineSettings.parse({}),
      lease: leaseA,
      store: { save: (state) => a.latest.save(state), saveHistory: async () => {} },
      counters: () => ({}),
      ackedSeq: 0,
      historySavedAt: Date.now(),
      signal: new AbortController().signal,
      log: () => {},
    });
    const cut = (owner: string) => ({ rows: new Map(), deadLetters: [], late: [], snapshot: { owner } });
    await checkpointerA.save(cut('A'), { seq: 5, msg: messages[4] });
    // The ack is a publish the server takes in its own time.
    await waitFor(async () => (await ackFloor()) === 5, 10_000, 'the ack of seq 5');

    const inFlight = checkpointerA.save(cut('A'), { seq: 10, msg: messages[9] });
    await started;
    // B takes the lease over as it would from a holder it saw not renewing for the TTL: compare-and-set on that revision.
    const stale = (await kv.get(key))!.revision;
    const leaseB = await Lease.take(nc, leaseBucket(bucket), key, { ttlMs: 600_000, stale });
    expect(leaseB).toBeDefined();
    const b = await LatestCheckpoint.claim(kv, store, key, leaseB!.id);
    expect(b.checkpoint).toMatchObject({ lastSeq: 5, operators: { owner: 'A' } });
    await b.latest.save(checkpoint(7, 'B'));

    // A's save lands now: refused, and not acked.
    resume();
    await expect(inFlight).rejects.toThrow(LeaseLost);
    await expect(inFlight).rejects.toThrow(`lost the lease on '${key}' (another process claimed its checkpoint)`);
    expect(checkpointerA.ackedSeq).toBe(5);
    expect(await ackFloor()).toBe(5);
    // A later save of A is refused at once.
    await expect(a.latest.save(checkpoint(11, 'A'))).rejects.toThrow(LeaseLost);

    // Whoever restores next gets B's state; A's object is gone, B's is the only latest one.
    await leaseB!.release();
    const leaseC = await Lease.acquire(nc, leaseBucket(bucket), key, { ttlMs: 600_000, signal: new AbortController().signal });
    const c = await LatestCheckpoint.claim(kv, store, key, leaseC.id);
    expect(c.checkpoint).toMatchObject({ lastSeq: 7, operators: { owner: 'B' } });
    expect(await store.names(`${key}.latest.`)).toEqual([`${key}.latest.${leaseB!.id}.0`]);
    await leaseC.release();
    await leaseA.release();
  });

  it('restores a checkpoint from before pointers (the object named after its key), moves it under a pointer, and is deleted by a reset', async () => {
    const key = 'pipeline.q';
    const kv = await leaseStore(nc, leaseBucket(bucket));
    const store = await CheckpointStore.open(nc, bucket);
    await saveWholeCheckpoint(nc, bucket, key, checkpoint(3, 'before'));
    const first = await LatestCheckpoint.claim(kv, store, key, 'holder-1');
    expect(first.checkpoint).toMatchObject({ lastSeq: 3, operators: { owner: 'before' } });
    await first.latest.save(checkpoint(4, 'one'));
    await first.latest.save(checkpoint(5, 'one'));
    // Two names per holder, alternating: the one the pointer names is never the one being written.
    expect((await store.names(`${key}.latest.`)).sort()).toEqual([`${key}.latest.holder-1.0`, `${key}.latest.holder-1.1`]);
    const second = await LatestCheckpoint.claim(kv, store, key, 'holder-2');
    expect(second.checkpoint).toMatchObject({ lastSeq: 5 });

    await deleteLatestCheckpoint(kv, store, key);
    expect(await store.names(key)).toEqual([]);
    expect((await kv.get(checkpointPointerKey(key)))?.operation).toBe('DEL');
    expect((await LatestCheckpoint.claim(kv, store, key, 'holder-3')).checkpoint).toBeUndefined();
  });
});

describe('LatestCheckpoint packs', () => {
  /** A state like a pipeline's: a ring of fingerprints that slides (dedupe) and a part rewritten every time (windows). */
  function slidingState(seed: number) {
    let ring = Uint32Array.from({ length: 500_000 }, () => randomInt(2 ** 32));
    return {
      next(lastSeq: number): Checkpoint {
        // 2% of the keys expire at the front, as many new ones are appended.
        const added = Uint32Array.from({ length: 10_000 }, () => randomInt(2 ** 32));
        const next = new Uint32Array(ring.length);
        next.set(ring.subarray(added.length));
        next.set(added, ring.length - added.length);
        ring = next;
        const windows = Float64Array.from({ length: 20_000 }, () => Math.random() * seed);
        return {
          ...checkpoint(lastSeq, 'sliding'),
          operators: { dedupe: { hi: new TypedColumn(ring) }, 'tumbling#0': { counts: new TypedColumn(windows) } },
        };
      },
    };
  }
  const ringOf = (c: Checkpoint | undefined) => Buffer.from((c!.operators.dedupe as { hi: Uint8Array }).hi);
  const bytesOf = (c: Checkpoint) => Buffer.from((c.operators.dedupe as { hi: TypedColumn }).hi.bytes());

  it('writes what changed, keeps the packs bounded over 100 checkpoints, and restores each exactly', async () => {
    const key = `pipeline.gc.${randomInt(1e9)}`;
    const kv = await leaseStore(nc, leaseBucket(bucket));
    const store = await CheckpointStore.open(nc, bucket);
    const state = slidingState(1);
    const { latest } = await LatestCheckpoint.claim(kv, store, key, 'holder-1');
    const written: number[] = [];
    let size = 0;
    let last!: Checkpoint;
    const copies = new Map<number, Buffer>();
    for (let seq = 1; seq <= 100; seq++) {
      last = state.next(seq);
      const saved = await latest.save(last);
      written.push(saved.written);
      size = saved.bytes;
      if (seq % 10 === 0) {
        await latest.saveHistory(last, 3);
        copies.set(seq, bytesOf(last));
      }
    }
    // The first save writes it all; after it, the new keys and the rewritten part (~0.2 of the state) and compactions.
    expect(written[0]).toBeGreaterThan(size);
    const steady = written.slice(1).reduce((a, b) => a + b, 0) / 99;
    expect(steady).toBeLessThan(size * 0.45);
    // Packs the latest checkpoint names (compacted past three times its size, plus one save's new pack),
    // and the three history copies (1.1 times theirs each); the rest collected.
    const packs = await store.objects(packPrefix(key));
    expect(packs.reduce((n, p) => n + p.bytes, 0)).toBeLessThan((3.5 + 3 * 1.1) * size);
    // Compactions moved long-lived chunks into packs of their own.
    expect(packs.some((p) => p.name.endsWith('.m'))).toBe(true);
    expect(packs.length).toBeLessThan(60);
    expect((await store.history(key)).map((h) => h.lastSeq)).toEqual([80, 90, 100]);

    const restored = await LatestCheckpoint.claim(kv, store, key, 'holder-2');
    expect(ringOf(restored.checkpoint).equals(bytesOf(last))).toBe(true);
    for (const seq of [80, 90]) expect(ringOf(await store.historyBefore(key, seq + 1)).equals(copies.get(seq)!)).toBe(true);
  });

  it("never collects a newer holder's packs: an old holder collecting after its last save leaves them", async () => {
    const key = `pipeline.gen.${randomInt(1e9)}`;
    const kv = await leaseStore(nc, leaseBucket(bucket));
    const store = await CheckpointStore.open(nc, bucket);
    const state = slidingState(2);
    let pauseListing = false;
    let listed!: () => void;
    const listing = new Promise<void>((resolve) => (listed = resolve));
    let go!: () => void;
    const proceed = new Promise<void>((resolve) => (go = resolve));
    // A's collection (which starts by listing the packs) pauses until B has claimed and saved.
    const pausing = objectsOf(store, {
      objects: async (prefix) => {
        if (pauseListing) {
          listed();
          await proceed;
        }
        return store.objects(prefix);
      },
    });
    const a = await LatestCheckpoint.claim(kv, pausing, key, 'holder-a');
    await a.latest.save(state.next(1));
    pauseListing = true;
    const lastOfA = a.latest.save(state.next(2));
    await listing;
    const b = await LatestCheckpoint.claim(kv, store, key, 'holder-b');
    expect(b.checkpoint?.lastSeq).toBe(2);
    const ofB = state.next(3);
    await b.latest.save(ofB);
    go();
    await lastOfA;
    // A's collection saw B's new pack unnamed by anything A knows, and left it: it is of a newer generation.
    const c = await LatestCheckpoint.claim(kv, store, key, 'holder-c');
    expect(ringOf(c.checkpoint).equals(bytesOf(ofB))).toBe(true);
  });
});
