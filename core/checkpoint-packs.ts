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
 * What a save may reuse of the checkpoint before it: its chunks where they are (`reuse`), but for
 * those it moves (`moved`, by hash), which it writes again into a pack of their own.
 */
export interface ChunkReuse {
  readonly reuse: ReadonlyMap<string, ChunkRef>;
  readonly moved: ReadonlySet<string>;
}

/** How much the packs a checkpoint names may hold, as a multiple of its bytes. */
export interface PackBound {
  /** Past this, a save compacts... */
  readonly limit: number;
  /** ...until the packs it keeps hold at most this (counting what it moves). */
  readonly target: number;
}

/**
 * The latest checkpoint's bound. Why compaction at all: a pack stays as long as one chunk in it is
 * named. The windows' chunks of a pack change at the next checkpoint, the dedupe ring's stay for
 * its TTL, so packs would fill with bytes no checkpoint uses. Once the packs a checkpoint names
 * hold more than three times its bytes, the next save moves the live chunks of the emptiest packs into a
 * pack of their own (long-lived chunks together, so that pack stays full), and the emptied packs
 * become garbage (collected by core/latest-checkpoint.ts).
 */
export const LATEST_PACK_BOUND: PackBound = { limit: 3, target: 2 };
/** A history copy is kept for hours: it names packs that hold little more than itself. */
export const HISTORY_PACK_BOUND: PackBound = { limit: 1.1, target: 1.1 };

export function chunkReuse(manifest: Manifest | undefined, bound: PackBound): ChunkReuse {
  const reuse = new Map<string, ChunkRef>();
  const moved = new Set<string>();
  if (manifest === undefined) return { reuse, moved };
  const live = manifest.packs.map(() => 0);
  for (const [pack, , bytes] of manifest.chunks) live[pack]! += bytes;
  const evacuated = new Set<number>();
  let packBytes = manifest.packs.reduce((n, p) => n + p.bytes, 0);
  if (packBytes > bound.limit * manifest.bytes) {
    const emptiest = [...manifest.packs.keys()].sort((a, b) => live[a]! / manifest.packs[a]!.bytes - live[b]! / manifest.packs[b]!.bytes);
    for (const pack of emptiest) {
      if (packBytes <= bound.target * manifest.bytes) break;
      evacuated.add(pack);
      // Its live chunks are written again: only its dead bytes go.
      packBytes -= manifest.packs[pack]!.bytes - live[pack]!;
    }
  }
  for (const [pack, offset, bytes, hash] of manifest.chunks) {
    if (evacuated.has(pack)) moved.add(hash);
    else reuse.set(hash, { pack: manifest.packs[pack]!.name, packBytes: manifest.packs[pack]!.bytes, offset, bytes });
  }
  return { reuse, moved };
}

/** Where a chunk added to a manifest goes: nowhere (stored already), the new pack, or the pack of moved chunks. */
export type ChunkPlace = 'stored' | 'new' | 'moved';

/**
 * A manifest as it is built, chunk by chunk: stored chunks where they are, new ones appended to
 * the pack `pack`, moved ones to `<pack>.m`; a chunk seen twice is stored once.
 */
export class ManifestBuilder {
  readonly movedPack: string;
  /** Bytes of the new pack and of the moved chunks' pack so far. */
  newBytes = 0;
  movedBytes = 0;
  private readonly packs: Array<{ name: string; bytes: number }> = [];
  private readonly packIndex = new Map<string, number>();
  private readonly chunks: Manifest['chunks'] = [];
  private readonly written = new Map<string, ChunkRef>();
  private bytes = 0;

  constructor(
    readonly pack: string,
    private readonly reuse: ChunkReuse,
  ) {
    this.movedPack = `${pack}.m`;
  }

  add(chunk: Uint8Array): ChunkPlace {
    const hash = chunkHash(chunk);
    const size = chunk.byteLength;
    this.bytes += size;
    const ref = this.reuse.reuse.get(hash) ?? this.written.get(hash);
    if (ref !== undefined && ref.bytes === size) {
      this.chunks.push([this.indexOf(ref.pack, ref.packBytes), ref.offset, size, hash]);
      return 'stored';
    }
    const moved = this.reuse.moved.has(hash);
    const pack = moved ? this.movedPack : this.pack;
    const offset = moved ? this.movedBytes : this.newBytes;
    if (moved) this.movedBytes += size;
    else this.newBytes += size;
    this.written.set(hash, { pack, packBytes: 0, offset, bytes: size });
    this.chunks.push([this.indexOf(pack, 0), offset, size, hash]);
    return moved ? 'moved' : 'new';
  }

  done(): Manifest {
    const sizes = new Map([
      [this.pack, this.newBytes],
      [this.movedPack, this.movedBytes],
    ]);
    const packs = this.packs.map((p) => ({ name: p.name, bytes: sizes.get(p.name) ?? p.bytes }));
    return { bytes: this.bytes, packs, chunks: this.chunks };
  }

  /** The pack's index in the manifest's list (the sizes of the packs being written are set by `done`). */
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
