import { type ObjectStore, Objm, setSha256Backend } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { decodeCheckpoint, encodeCheckpoint, isEncodedCheckpoint } from './checkpoint-codec.ts';
import { type ChunkReuse, decodeManifest, encodeManifest, isManifest, type Manifest, ManifestBuilder } from './checkpoint-packs.ts';
import { contentChunks } from './content-chunks.ts';
import { leaseBucket } from './lease.ts';
import { schemaBucket } from './schema-registry.ts';

/**
 * The checkpoint format this build writes. A build refuses a checkpoint of a format it does not
 * read (`UnreadableCheckpoint`): the operators' state in it is not what its operators restore.
 * 1: the 0.1 builds. 2: the same layout, from the build that stopped restoring 0.1's earlier
 * encodings (the JSON-alone checkpoint). 3: the same layout, with snapshot columns a format-2
 * build misreads (sparse number columns, event times as distances from a base): a build that reads
 * only 2 refuses it instead of failing on a column's size.
 */
export const CHECKPOINT_FORMAT = 3;
/** The formats this build restores: its own, and 2, whose columns are a subset of 3's. */
export const READABLE_CHECKPOINT_FORMATS = [2, CHECKPOINT_FORMAT] as const;

/**
 * A pipeline's checkpoint: operator state plus the last stream sequence folded into it.
 * Restoring it and consuming from `lastSeq + 1` reproduces exactly the output of an
 * uninterrupted run (operators are deterministic and input order is the stream order).
 */
export const Checkpoint = z.object({
  format: z.union(READABLE_CHECKPOINT_FORMATS.map((f) => z.literal(f))),
  pipeline: z.string(),
  stream: z.string(),
  lastSeq: z.number().int().nonnegative(),
  takenAt: z.number(),
  operators: z.record(z.string(), z.unknown()),
  counters: z.record(z.string(), z.number()),
});
export type Checkpoint = z.output<typeof Checkpoint>;

const isReadable = (format: unknown): boolean => (READABLE_CHECKPOINT_FORMATS as readonly unknown[]).includes(format);

/** A checkpoint of a format this build does not read: an earlier build's, or a later one's. */
export class UnreadableCheckpoint extends Error {
  constructor(
    readonly key: string,
    readonly format: unknown,
  ) {
    const reads = `this build reads formats ${READABLE_CHECKPOINT_FORMATS.join(' and ')}`;
    const reset = "run `rxa reset <pipeline>` to start over (it deletes the pipeline's checkpoints and consumer positions; its tables are kept)";
    super(
      typeof format === 'number' && format > CHECKPOINT_FORMAT
        ? `checkpoint '${key}' is format ${format}, written by a later build; ${reads}: run that build (or a later one), or ${reset}`
        : `checkpoint '${key}' is format ${String(format)}, ${reads}: ${reset}`,
    );
    this.name = 'UnreadableCheckpoint';
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

export function historyPrefix(key: string): string {
  return `${key}.history.`;
}

export function historyKey(key: string, lastSeq: number): string {
  return `${historyPrefix(key)}${String(lastSeq).padStart(16, '0')}`;
}

/** A checkpoint whose packs are not all there (a history copy written as its packs were collected). */
export class MissingPack extends Error {
  constructor(name: string, pack: string) {
    super(`checkpoint '${name}': its pack '${pack}' is gone`);
    this.name = 'MissingPack';
  }
}

/** Bytes cut and hashed (~5 ms) between yields to the event loop while a checkpoint is saved. */
const YIELD_EVERY_BYTES = 2 * 1024 * 1024;
/** Packs read at once while a checkpoint is loaded (each held until its chunks are copied). */
const PACK_READS = 2;

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

/** An object of the checkpoint bucket: its name, and its identity (`nuid`, new at every put of the name). */
export interface StoredObject {
  readonly name: string;
  readonly nuid: string;
  readonly bytes: number;
  /** When it was stored, epoch ms. */
  readonly savedAt: number;
}

/**
 * Checkpoints live in a JetStream object store (chunked, so state larger than the 1 MB message
 * limit fits). A checkpoint is a manifest naming its chunks in packs (core/checkpoint-packs.ts):
 * a save writes what changed since the checkpoint it builds on. A put replaces an object
 * atomically: readers see the old or the new one. Which object is a runner's latest checkpoint is
 * told by its pointer (core/latest-checkpoint.ts), which also collects packs no checkpoint uses.
 */
export class CheckpointStore {
  private constructor(private readonly store: ObjectStore) {}

  /** The bucket, created if missing with `replicas` copies on a cluster (an existing one is opened as it is). */
  static async open(nc: NatsConnection, bucket: string, replicas = 1): Promise<CheckpointStore> {
    return new CheckpointStore(await new Objm(nc).create(bucket, { description: 'rxa pipeline checkpoints', replicas }));
  }

  async load(name: string): Promise<Checkpoint | undefined> {
    return (await this.loadStored(name))?.checkpoint;
  }

  /**
   * The checkpoint `name` holds, and its manifest (the chunks a save after it may reuse); the
   * manifest is undefined for a checkpoint stored whole, as builds before manifests stored them.
   * Throws when a pack it needs is gone.
   */
  async loadStored(name: string): Promise<{ checkpoint: Checkpoint; manifest: Manifest | undefined } | undefined> {
    const data = await this.read(name);
    if (!data) return undefined;
    if (!isManifest(data)) return { checkpoint: this.decode(name, data), manifest: undefined };
    const manifest = decodeManifest(data, name);
    return { checkpoint: this.decode(name, await this.assemble(name, manifest)), manifest };
  }

  /** The manifest `name` holds; undefined when there is no such object or it holds a whole checkpoint. */
  async manifest(name: string): Promise<Manifest | undefined> {
    const data = await this.read(name);
    return data && isManifest(data) ? decodeManifest(data, name) : undefined;
  }

  /**
   * Save `checkpoint` as the manifest `name`: its chunks stored already (`reuse`) are named where
   * they are, new ones written to the pack `pack`, and those `reuse` moves to `<pack>.m` (packs
   * with nothing to hold are not written). Encoded a few milliseconds at a time (see
   * `encodeCheckpoint`), cut and streamed into the pack: the pipeline keeps running while a large
   * checkpoint is saved. Resolves with the manifest and the bytes written (packs and manifest).
   */
  async saveChunked(name: string, checkpoint: Checkpoint, pack: string, reuse: ChunkReuse): Promise<{ manifest: Manifest; written: number }> {
    const builder = new ManifestBuilder(pack, reuse);
    // Views of the snapshot's memory (or copies, for chunks across pieces): valid until the save ends.
    const moved: Uint8Array[] = [];
    const fresh = (async function* () {
      let sinceYield = 0;
      for await (const chunk of contentChunks(encodeCheckpoint(checkpoint))) {
        const place = builder.add(chunk);
        if (place === 'new') yield chunk;
        else if (place === 'moved') moved.push(chunk);
        // Chunks already stored go by without I/O: let the pipeline run between megabytes of them.
        sinceYield += chunk.byteLength;
        if (sinceYield >= YIELD_EVERY_BYTES) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
    })();
    await this.putPack(pack, fresh);
    await this.putPack(builder.movedPack, moved.values());
    const manifest = builder.done();
    return { manifest, written: builder.newBytes + builder.movedBytes + (await this.putManifest(name, manifest)) };
  }

  /** Store `chunks` as the pack `name`, unless there are none. */
  private async putPack(name: string, chunks: AsyncIterator<Uint8Array> | Iterator<Uint8Array>): Promise<void> {
    const first = await chunks.next();
    if (first.done) return;
    const all = (async function* () {
      yield first.value;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    })();
    await this.store.put({ name, options: { max_chunk_size: CHUNK_BYTES } }, readableInPieces(all, PIECE_BYTES));
  }

  /** Store `manifest` as `name`; resolves with its size. */
  private async putManifest(name: string, manifest: Manifest): Promise<number> {
    return (await this.store.putBlob({ name, options: { max_chunk_size: CHUNK_BYTES } }, encodeManifest(manifest))).size;
  }

  async delete(name: string): Promise<void> {
    await this.store.delete(name);
  }

  /** The objects (not deleted) whose names start with `prefix`. */
  async objects(prefix: string): Promise<StoredObject[]> {
    return (await this.store.list())
      .filter((e) => !e.deleted && e.name.startsWith(prefix))
      .map((e) => ({ name: e.name, nuid: e.nuid, bytes: e.size, savedAt: Date.parse(e.mtime) }));
  }

  /** Names of the objects (not deleted) starting with `prefix`. */
  async names(prefix: string): Promise<string[]> {
    return (await this.objects(prefix)).map((o) => o.name);
  }

  /** Historical checkpoints of `key`, oldest first, with when each was saved (epoch ms). */
  async history(key: string): Promise<Array<StoredObject & { lastSeq: number }>> {
    const prefix = historyPrefix(key);
    return (await this.objects(prefix)).map((o) => ({ ...o, lastSeq: Number(o.name.slice(prefix.length)) })).sort((a, b) => a.lastSeq - b.lastSeq);
  }

  /** Delete all but the newest `keep` historical checkpoints of `key`. */
  async trimHistory(key: string, keep: number): Promise<void> {
    const history = await this.history(key);
    for (const old of history.slice(0, Math.max(0, history.length - keep))) await this.store.delete(old.name);
  }

  /** When the newest historical checkpoint of `key` was saved (epoch ms); 0 when there is none. */
  async historySavedAt(key: string): Promise<number> {
    return Math.max(0, ...(await this.history(key)).map((h) => h.savedAt || 0));
  }

  /**
   * The newest historical checkpoint of `key` whose position is before `seq`, if any. One whose
   * packs are gone is passed over for the one before it: a process that lost its lease can write a
   * history copy after the new holder collected the packs it names.
   */
  async historyBefore(key: string, seq: number): Promise<Checkpoint | undefined> {
    const candidates = (await this.history(key)).filter((h) => h.lastSeq < seq);
    for (const candidate of candidates.reverse()) {
      try {
        return await this.load(candidate.name);
      } catch (error) {
        if (!(error instanceof MissingPack)) throw error;
      }
    }
    return undefined;
  }

  private read(name: string): Promise<Uint8Array | null> {
    // A read racing a replace of the same object can wait forever for purged chunks: fail instead.
    return withTimeout(this.store.getBlob(name), LOAD_TIMEOUT_MS, `reading checkpoint '${name}'`);
  }

  /**
   * The checkpoint's encoded bytes, from its packs: each pack read (a few at a time), its chunks
   * copied to their places, and let go, so that only a few packs are held at once (packs may hold
   * more than the chunks a checkpoint names).
   */
  private async assemble(name: string, manifest: Manifest): Promise<Uint8Array> {
    const bytes = new Uint8Array(manifest.bytes);
    /** Per pack, its chunks' offsets there, sizes, and places in the checkpoint. */
    const copies = manifest.packs.map(() => [] as Array<[number, number, number]>);
    let at = 0;
    for (const [pack, offset, size] of manifest.chunks) {
      copies[pack]!.push([offset, size, at]);
      at += size;
    }
    let next = 0;
    const reader = async (): Promise<void> => {
      for (let i = next++; i < manifest.packs.length; i = next++) {
        const pack = manifest.packs[i]!;
        const data = await this.read(pack.name);
        if (!data) throw new MissingPack(name, pack.name);
        if (data.byteLength !== pack.bytes) throw new Error(`checkpoint '${name}': its pack '${pack.name}' holds ${data.byteLength} bytes, not ${pack.bytes}`);
        for (const [offset, size, place] of copies[i]!) bytes.set(data.subarray(offset, offset + size), place);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PACK_READS, manifest.packs.length) }, reader));
    return bytes;
  }

  private decode(name: string, data: Uint8Array): Checkpoint {
    // Without this encoding's header: JSON alone, which only 0.1 builds (format 1) wrote.
    if (!isEncodedCheckpoint(data)) throw new UnreadableCheckpoint(name, 1);
    const value = decodeCheckpoint(data);
    const format = typeof value === 'object' && value !== null ? (value as { format?: unknown }).format : undefined;
    if (!isReadable(format)) throw new UnreadableCheckpoint(name, format);
    return Checkpoint.parse(value);
  }
}
