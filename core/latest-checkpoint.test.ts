/**
 * Fenced checkpoints against the local NATS: a holder that lost its lease while a save was in
 * flight can neither replace the new holder's checkpoint nor ack past it.
 */
import { AckPolicy, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testId } from '../test/support/helpers.ts';
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
    const pausing: CheckpointObjects = {
      load: (name) => store.load(name),
      delete: (name) => store.delete(name),
      names: (prefix) => store.names(prefix),
      save: async (name, state) => {
        if (state.lastSeq === 10) {
          saveStarted();
          await resumed;
        }
        return store.save(name, state);
      },
    };
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
    expect(await ackFloor()).toBe(5);

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
    await store.save(key, checkpoint(3, 'before'));
    const first = await LatestCheckpoint.claim(kv, store, key, 'holder-1');
    expect(first.checkpoint).toMatchObject({ lastSeq: 3, operators: { owner: 'before' } });
    await first.latest.save(checkpoint(4, 'one'));
    await first.latest.save(checkpoint(5, 'one'));
    // Two names per holder, alternating: the one the pointer names is never the one being written.
    expect((await store.names(key)).sort()).toEqual([`${key}.latest.holder-1.0`, `${key}.latest.holder-1.1`]);
    const second = await LatestCheckpoint.claim(kv, store, key, 'holder-2');
    expect(second.checkpoint).toMatchObject({ lastSeq: 5 });

    await deleteLatestCheckpoint(kv, store, key);
    expect(await store.names(key)).toEqual([]);
    expect((await kv.get(checkpointPointerKey(key)))?.operation).toBe('DEL');
    expect((await LatestCheckpoint.claim(kv, store, key, 'holder-3')).checkpoint).toBeUndefined();
  });
});
