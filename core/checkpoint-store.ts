import { type ObjectStore, Objm, setSha256Backend } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { decodeCheckpoint, encodeCheckpoint, isEncodedCheckpoint } from './checkpoint-codec.ts';
import { leaseBucket } from './lease.ts';
import { schemaBucket } from './schema-registry.ts';

/**
 * The checkpoint format this build writes and reads. A checkpoint of another format is refused
 * (`OutdatedCheckpoint`): the operators' state in it is not what this build's operators restore.
 * 1: the 0.1 builds. 2: the same layout, from the build that stopped restoring 0.1's earlier
 * encodings (the JSON-alone checkpoint).
 */
export const CHECKPOINT_FORMAT = 2;

/**
 * A pipeline's checkpoint: operator state plus the last stream sequence folded into it.
 * Restoring it and consuming from `lastSeq + 1` reproduces exactly the output of an
 * uninterrupted run (operators are deterministic and input order is the stream order).
 */
export const Checkpoint = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  pipeline: z.string(),
  stream: z.string(),
  lastSeq: z.number().int().nonnegative(),
  takenAt: z.number(),
  operators: z.record(z.string(), z.unknown()),
  counters: z.record(z.string(), z.number()),
});
export type Checkpoint = z.output<typeof Checkpoint>;

/** A checkpoint an earlier build wrote, in a format this one does not read. */
export class OutdatedCheckpoint extends Error {
  constructor(
    readonly key: string,
    readonly format: unknown,
  ) {
    super(
      `checkpoint '${key}' is format ${String(format)}, this build reads format ${CHECKPOINT_FORMAT}: ` +
        "run `rxa reset <pipeline>` to start over (it deletes the pipeline's checkpoints and consumer positions; its tables are kept)",
    );
    this.name = 'OutdatedCheckpoint';
  }
}

const LOAD_TIMEOUT_MS = 60_000;
/**
 * Chunks of 1 MB (the server's default max payload) instead of the object store's 128 KiB: a
 * checkpoint of tens of MB is one awaited publish per chunk.
 */
const CHUNK_BYTES = 1024 * 1024 - 4096;
/** What the object store is fed at a time (see `readableInPieces`). */
const PIECE_BYTES = 64 * 1024;

// The object store hashes every chunk (SHA-256); its default is a pure-JS hasher, which took
// ~12% of the pipeline's CPU at 65 MB checkpoints. Node's is native.
setSha256Backend('native');

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function historyKey(key: string, lastSeq: number): string {
  return `${key}.history.${String(lastSeq).padStart(16, '0')}`;
}

/**
 * `pieces` as a stream of views of at most `maxBytes` each (no copies).
 *
 * Why: the object store gathers what it reads into one array before it cuts a chunk off (nats.js
 * `DataBuffer.pack` copies every buffer it holds), so a whole snapshot column (up to ~10 MB at the
 * clickstream's state) was copied at once and held until its last chunk was published. Fed 64 KB
 * at a time, it copies about a chunk at a time. Saving a 22 MB checkpoint in a quiet process (a
 * scratch script, six alternating saves each way) lifted live ArrayBuffers by 17-33 MB (mean 27)
 * against 21-44 (mean 34) before: the copies and the publishes' own copies are still garbage until
 * a collection, but none is a column's size.
 */
export function readableInPieces(pieces: AsyncIterator<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  let rest: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (rest === undefined) {
        const { value, done } = await pieces.next();
        if (done) return controller.close();
        rest = value;
      }
      controller.enqueue(rest.subarray(0, maxBytes));
      rest = rest.byteLength > maxBytes ? rest.subarray(maxBytes) : undefined;
    },
  });
}

/** The JetStream streams behind a checkpoint bucket: its object store, and the runners' leases and the schema registry beside it. */
export function checkpointStreams(bucket: string): string[] {
  return [`OBJ_${bucket}`, `KV_${leaseBucket(bucket)}`, `KV_${schemaBucket(bucket)}`];
}

/**
 * Checkpoints live in a JetStream object store (chunked, so state larger than the 1 MB message
 * limit fits). A put replaces the object atomically: readers see the old or the new checkpoint.
 * Which object is a runner's latest checkpoint is told by its pointer (core/latest-checkpoint.ts).
 */
export class CheckpointStore {
  private constructor(private readonly store: ObjectStore) {}

  /** The bucket, created if missing with `replicas` copies on a cluster (an existing one is opened as it is). */
  static async open(nc: NatsConnection, bucket: string, replicas = 1): Promise<CheckpointStore> {
    return new CheckpointStore(await new Objm(nc).create(bucket, { description: 'rxa pipeline checkpoints', replicas }));
  }

  async load(key: string): Promise<Checkpoint | undefined> {
    // A read racing a replace of the same object can wait forever for purged chunks: fail instead.
    const data = await withTimeout(this.store.getBlob(key), LOAD_TIMEOUT_MS, `reading checkpoint '${key}'`);
    if (!data) return undefined;
    // Without this encoding's header: JSON alone, which only 0.1 builds (format 1) wrote.
    if (!isEncodedCheckpoint(data)) throw new OutdatedCheckpoint(key, 1);
    const value = decodeCheckpoint(data);
    const format = typeof value === 'object' && value !== null ? (value as { format?: unknown }).format : undefined;
    if (format !== CHECKPOINT_FORMAT) throw new OutdatedCheckpoint(key, format);
    return Checkpoint.parse(value);
  }

  /**
   * Encoded a few milliseconds at a time (see `encodeCheckpoint`), yielding to the event loop in
   * between, and streamed into the store: the pipeline keeps running while a large checkpoint is
   * saved, and the whole checkpoint's bytes never sit in memory at once. Resolves with the size stored.
   */
  async save(key: string, checkpoint: Checkpoint): Promise<number> {
    const stream = readableInPieces(encodeCheckpoint(checkpoint), PIECE_BYTES);
    const info = await this.store.put({ name: key, options: { max_chunk_size: CHUNK_BYTES } }, stream);
    return info.size;
  }

  async delete(key: string): Promise<void> {
    await this.store.delete(key);
  }

  /** Names of the objects (not deleted) starting with `prefix`. */
  async names(prefix: string): Promise<string[]> {
    return (await this.store.list()).filter((e) => !e.deleted && e.name.startsWith(prefix)).map((e) => e.name);
  }

  /** Keep a copy of `checkpoint` under `<key>.history.<lastSeq>`, and only the newest `keep` copies. */
  async saveHistory(key: string, checkpoint: Checkpoint, keep: number): Promise<void> {
    await this.save(historyKey(key, checkpoint.lastSeq), checkpoint);
    const history = await this.history(key);
    for (const old of history.slice(0, Math.max(0, history.length - keep))) await this.store.delete(old.name);
  }

  /** Historical checkpoints of `key`, oldest first, with when each was saved (epoch ms). */
  async history(key: string): Promise<Array<{ name: string; lastSeq: number; savedAt: number }>> {
    const prefix = `${key}.history.`;
    const entries = await this.store.list();
    return entries
      .filter((e) => !e.deleted && e.name.startsWith(prefix))
      .map((e) => ({ name: e.name, lastSeq: Number(e.name.slice(prefix.length)), savedAt: Date.parse(e.mtime) }))
      .sort((a, b) => a.lastSeq - b.lastSeq);
  }

  /** When the newest historical checkpoint of `key` was saved (epoch ms); 0 when there is none. */
  async historySavedAt(key: string): Promise<number> {
    return Math.max(0, ...(await this.history(key)).map((h) => h.savedAt || 0));
  }

  /** The newest historical checkpoint of `key` whose position is before `seq`, if any. */
  async historyBefore(key: string, seq: number): Promise<Checkpoint | undefined> {
    const candidates = (await this.history(key)).filter((h) => h.lastSeq < seq);
    const newest = candidates[candidates.length - 1];
    return newest ? this.load(newest.name) : undefined;
  }
}
