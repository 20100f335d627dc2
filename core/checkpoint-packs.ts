import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Incremental checkpoints: a checkpoint is stored as a manifest, the list of its chunks
 * (core/content-chunks.ts) in order, each where a pack holds it. A save writes one pack with the
 * chunks no pack it may reuse holds yet (what changed since the last checkpoint), and the manifest.
 *
 *     rxa-checkpoint manifest 1\n
 *     {"bytes": n, "packs": [{"name": ..., "bytes": n}, ...], "chunks": [[pack, offset, bytes, hash], ...]}
 *
 * Packs are objects of the checkpoint bucket named `<key>.packs.<generation>.<seq>`: the generation
 * is the pointer's revision when its holder claimed it (core/latest-checkpoint.ts), the seq the
 * checkpoint's position. Only the holder of a generation writes its packs, so a process can tell
 * which packs may still be written by a newer holder (a higher generation) and leaves those alone.
 */
const MAGIC = 'rxa-checkpoint manifest 1\n';

/** A chunk's identity: the first 16 bytes of its SHA-256, base64url. */
export function chunkHash(chunk: Uint8Array): string {
  return createHash('sha256').update(chunk).digest().subarray(0, 16).toString('base64url');
}

const Manifest = z.object({
  /** The checkpoint's encoded size (core/checkpoint-codec.ts): the chunks' bytes together. */
  bytes: z.number().int().nonnegative(),
  packs: z.array(z.object({ name: z.string().min(1), bytes: z.number().int().nonnegative() })),
  /** Per chunk, in order: the index of its pack in `packs`, its offset and size there, its hash. */
  chunks: z.array(z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative(), z.number().int().positive(), z.string()])),
});
export type Manifest = z.infer<typeof Manifest>;

export function isManifest(data: Uint8Array): boolean {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1', 0, MAGIC.length) === MAGIC;
}

export function encodeManifest(manifest: Manifest): Uint8Array {
  return Buffer.from(MAGIC + JSON.stringify(manifest));
}

/** Throws when `data` is not a manifest or its chunks do not fit their packs. */
export function decodeManifest(data: Uint8Array, name: string): Manifest {
  if (!isManifest(data)) throw new Error(`checkpoint '${name}' is not a manifest`);
  const manifest = Manifest.parse(JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8', MAGIC.length)));
  let bytes = 0;
  for (const [pack, offset, size] of manifest.chunks) {
    const holder = manifest.packs[pack];
    if (holder === undefined || offset + size > holder.bytes) throw new Error(`checkpoint '${name}': a chunk lies outside its pack`);
    bytes += size;
  }
  if (bytes !== manifest.bytes) throw new Error(`checkpoint '${name}': its chunks hold ${bytes} bytes, not ${manifest.bytes}`);
  return manifest;
}

export function packPrefix(key: string): string {
  return `${key}.packs.`;
}

export function packName(key: string, generation: number, seq: number): string {
  return `${packPrefix(key)}${String(generation).padStart(12, '0')}.${String(seq).padStart(16, '0')}`;
}

/** The generation of a pack of `key` (see above), or undefined for a name that is not one. */
export function packGeneration(key: string, name: string): number | undefined {
  const prefix = packPrefix(key);
  if (!name.startsWith(prefix)) return undefined;
  const generation = Number(name.slice(prefix.length).split('.')[0]);
  return Number.isSafeInteger(generation) ? generation : undefined;
}

/** Where a stored chunk is. */
export interface ChunkRef {
  readonly pack: string;
  readonly packBytes: number;
  readonly offset: number;
  readonly bytes: number;
}

/**
 * Packs may hold this many times the bytes of the checkpoint that references them before a save
 * moves chunks out of the emptiest ones.
 */
const MAX_PACK_BYTES_PER_CHECKPOINT_BYTE = 2;
/** A compaction moves chunks out of packs until they hold at most this many times the checkpoint's bytes. */
const COMPACTED_PACK_BYTES_PER_CHECKPOINT_BYTE = 1.25;

/**
 * The chunks the next save may reuse, by hash: those of the last checkpoint saved (or restored),
 * but for the chunks of packs that are mostly dead weight.
 *
 * Why compaction: a pack stays as long as one chunk in it is referenced. The windows' chunks of a
 * pack change at the next checkpoint, the dedupe ring's stay for the TTL, so packs would fill with
 * bytes no checkpoint uses. Once the packs a checkpoint references hold more than twice its bytes,
 * the chunks of the emptiest packs are left out here: the next save writes them again, into its
 * own pack, and the emptied packs become garbage (collected by core/latest-checkpoint.ts). The
 * space packs take is so bounded, at the price of writing again the chunks of mostly empty packs.
 */
export function reusableChunks(manifest: Manifest | undefined): Map<string, ChunkRef> {
  const reusable = new Map<string, ChunkRef>();
  if (manifest === undefined) return reusable;
  const live = manifest.packs.map(() => 0);
  for (const [pack, , bytes] of manifest.chunks) live[pack]! += bytes;
  const evacuated = new Set<number>();
  let packBytes = manifest.packs.reduce((n, p) => n + p.bytes, 0);
  if (packBytes > MAX_PACK_BYTES_PER_CHECKPOINT_BYTE * manifest.bytes) {
    const emptiest = [...manifest.packs.keys()].sort((a, b) => live[a]! / manifest.packs[a]!.bytes - live[b]! / manifest.packs[b]!.bytes);
    for (const pack of emptiest) {
      // The pack's live chunks are written again: they count on the other side.
      if (packBytes <= COMPACTED_PACK_BYTES_PER_CHECKPOINT_BYTE * manifest.bytes) break;
      evacuated.add(pack);
      packBytes -= manifest.packs[pack]!.bytes - live[pack]!;
    }
  }
  for (const [pack, offset, bytes, hash] of manifest.chunks) {
    if (evacuated.has(pack)) continue;
    const { name, bytes: packBytesOfIt } = manifest.packs[pack]!;
    reusable.set(hash, { pack: name, packBytes: packBytesOfIt, offset, bytes });
  }
  return reusable;
}

/**
 * A manifest as it is built, chunk by chunk: reused chunks where they are, new ones appended to
 * the pack being written (`pack`), a chunk seen twice stored once.
 */
export class ManifestBuilder {
  private readonly packs: Array<{ name: string; bytes: number }> = [];
  private readonly packIndex = new Map<string, number>();
  private readonly chunks: Manifest['chunks'] = [];
  private readonly written = new Map<string, ChunkRef>();
  private bytes = 0;
  /** Bytes of the new pack so far. */
  packBytes = 0;

  constructor(
    private readonly pack: string,
    private readonly reusable: ReadonlyMap<string, ChunkRef>,
  ) {}

  /** Add the chunk; true when the new pack must hold it (its bytes go there next). */
  add(chunk: Uint8Array): boolean {
    const hash = chunkHash(chunk);
    this.bytes += chunk.byteLength;
    const ref = this.reusable.get(hash) ?? this.written.get(hash);
    if (ref !== undefined && ref.bytes === chunk.byteLength) {
      this.chunks.push([this.indexOf(ref.pack, ref.packBytes), ref.offset, ref.bytes, hash]);
      return false;
    }
    const fresh: ChunkRef = { pack: this.pack, packBytes: 0, offset: this.packBytes, bytes: chunk.byteLength };
    this.written.set(hash, fresh);
    this.chunks.push([this.indexOf(this.pack, 0), fresh.offset, fresh.bytes, hash]);
    this.packBytes += chunk.byteLength;
    return true;
  }

  done(): Manifest {
    const packs = this.packs.map((p) => (p.name === this.pack ? { name: p.name, bytes: this.packBytes } : p));
    return { bytes: this.bytes, packs, chunks: this.chunks };
  }

  /** The pack's index in the manifest's list (the new pack's size is set by `done`). */
  private indexOf(pack: string, bytes: number): number {
    let index = this.packIndex.get(pack);
    if (index === undefined) {
      index = this.packs.length;
      this.packIndex.set(pack, index);
      this.packs.push({ name: pack, bytes });
    }
    return index;
  }
}
