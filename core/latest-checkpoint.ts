import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import { chunkReuse, HISTORY_PACK_BOUND, LATEST_PACK_BOUND, type Manifest, packGeneration, packName, packPrefix } from './checkpoint-packs.ts';
import { type Checkpoint, type CheckpointStore, historyKey, historyPrefix } from './checkpoint-store.ts';
import { isWrongRevision, LeaseLost } from './lease.ts';

/**
 * The pointer to a runner's latest checkpoint, a key beside its lease (`<checkpoint key>.checkpoint`
 * in the lease bucket): which object holds it, and which lease wrote the pointer last.
 */
const Pointer = z.object({
  /** The object holding the checkpoint; null before the first one. */
  object: z.string().nullable(),
  /** The id of the lease (core/lease.ts) whose holder wrote the pointer. */
  holder: z.string(),
});
type Pointer = z.infer<typeof Pointer>;

/** What the latest checkpoint needs of the object store. */
export type CheckpointObjects = Pick<CheckpointStore, 'loadStored' | 'saveChunked' | 'manifest' | 'delete' | 'names' | 'objects' | 'trimHistory'>;

export function checkpointPointerKey(checkpointKey: string): string {
  return `${checkpointKey}.checkpoint`;
}

/** Objects holding latest checkpoints are `<key>.latest.<lease id>.<0|1>`; before pointers, the object was `<key>` itself. */
function objectPrefix(checkpointKey: string): string {
  return `${checkpointKey}.latest.`;
}

/**
 * A runner's latest checkpoint, fenced: a process that lost its lease can never replace the new
 * holder's checkpoint, even with a save that was already in flight when the lease changed hands.
 *
 * Each save writes a manifest object of its own (this holder's, alternating between two names, so
 * the one the pointer names is never overwritten) and a pack of the chunks that changed since the
 * last save (core/checkpoint-packs.ts), then moves the pointer to the manifest with compare-and-set
 * on the pointer's revision. A new holder first rewrites the pointer (`claim`), which moves its
 * revision: an earlier holder's pending compare-and-set fails, and that save rejects with
 * `LeaseLost` before its ack (core/checkpointer.ts acks only after a save resolves). Its manifest
 * is left unnamed, and removed at the next claim.
 *
 * After each save the holder collects the packs that neither the latest checkpoint nor a history
 * copy names, of its generation (the pointer's revision at its claim) and older ones. A newer
 * holder's packs are never touched: a process that has not yet noticed it lost its lease cannot
 * delete what the new holder wrote. Packs an older holder may still write (it lost its lease
 * mid-save) are never named, and go at a later collection.
 */
export class LatestCheckpoint {
  private fenced: LeaseLost | undefined;
  /** The packs named by history copies, by the copy's object identity: read once each. */
  private readonly historyPacks = new Map<string, readonly string[]>();

  private constructor(
    private readonly kv: KV,
    private readonly objects: CheckpointObjects,
    readonly key: string,
    private readonly holder: string,
    private revision: number,
    private object: string | null,
    /** The manifest of the checkpoint `object` names (undefined before the first, or when it is stored whole). */
    private manifest: Manifest | undefined,
    /** This holder's generation: the pointer's revision at its claim. */
    private readonly generation: number,
  ) {}

  /**
   * Take the pointer over for the lease `holder` (call it holding that lease), and load the
   * checkpoint it names. A save of an earlier holder that lands after this can no longer move it.
   */
  static async claim(
    kv: KV,
    objects: CheckpointObjects,
    key: string,
    holder: string,
  ): Promise<{ latest: LatestCheckpoint; checkpoint: Checkpoint | undefined }> {
    const pointerKey = checkpointPointerKey(key);
    for (;;) {
      const entry = await kv.get(pointerKey);
      const current = entry?.operation === 'PUT' ? parsePointer(entry.string()) : undefined;
      // Before pointers, the latest checkpoint was the object named after the key.
      const object = current ? current.object : (await objects.names(key)).includes(key) ? key : null;
      const value = JSON.stringify({ object, holder } satisfies Pointer);
      const written = entry === null ? kv.create(pointerKey, value) : kv.update(pointerKey, value, entry.revision);
      // Another write came between: an earlier holder's save landing (it may be one, no more). Read again.
      const revision = await written.catch((error: unknown) => {
        if (isWrongRevision(error)) return undefined;
        throw error;
      });
      if (revision === undefined) continue;
      const stored = object === null ? undefined : await objects.loadStored(object);
      const latest = new LatestCheckpoint(kv, objects, key, holder, revision, object, stored?.manifest, revision);
      await latest.removeUnnamed();
      return { latest, checkpoint: stored?.checkpoint };
    }
  }

  /**
   * Save `checkpoint` as the latest; rejects with `LeaseLost` once another holder claimed the
   * pointer. Resolves with the bytes written (the new pack's and the manifest's) and the
   * checkpoint's size.
   */
  async save(checkpoint: Checkpoint): Promise<{ written: number; bytes: number }> {
    if (this.fenced) throw this.fenced;
    const prefix = `${objectPrefix(this.key)}${this.holder}.`;
    const name = `${prefix}${this.object === `${prefix}0` ? 1 : 0}`;
    const pack = packName(this.key, this.generation, checkpoint.lastSeq);
    const { manifest, written } = await this.objects.saveChunked(name, checkpoint, pack, chunkReuse(this.manifest, LATEST_PACK_BOUND));
    const value = JSON.stringify({ object: name, holder: this.holder } satisfies Pointer);
    const pointerKey = checkpointPointerKey(this.key);
    const revision = await this.kv.update(pointerKey, value, this.revision).catch(async (error: unknown) => {
      if (!isWrongRevision(error)) throw error;
      // A retry of a write that landed without its reply finds its own value there.
      const entry = await this.kv.get(pointerKey);
      if (entry?.operation === 'PUT' && entry.string() === value) return entry.revision;
      this.fenced = new LeaseLost(this.key, 'another process claimed its checkpoint');
      await this.objects.delete(name).catch(() => {});
      throw this.fenced;
    });
    const previous = this.object;
    this.revision = revision;
    this.object = name;
    this.manifest = manifest;
    // An earlier holder's (or the one from before pointers): ours are overwritten in turn.
    if (previous !== null && !previous.startsWith(prefix)) await this.objects.delete(previous).catch(() => {});
    // Garbage only takes space: a collection that fails is done again after the next save.
    await this.collect().catch(() => {});
    return { written, bytes: manifest.bytes };
  }

  /**
   * Keep a copy of `checkpoint`, the latest one saved, for replay: a manifest of its own, which
   * names the latest's packs but for the emptiest, whose chunks it moves into a pack of its own (a
   * copy kept for hours names little more than its own bytes). Only the newest `keep` copies are kept.
   */
  async saveHistory(checkpoint: Checkpoint, keep: number): Promise<void> {
    const name = historyKey(this.key, checkpoint.lastSeq);
    await this.objects.saveChunked(
      name,
      checkpoint,
      `${packName(this.key, this.generation, checkpoint.lastSeq)}.h`,
      chunkReuse(this.manifest, HISTORY_PACK_BOUND),
    );
    await this.objects.trimHistory(this.key, keep);
  }

  /** Delete the packs of this generation or older that neither the latest checkpoint nor a history copy names. */
  private async collect(): Promise<void> {
    // One listing of the key's objects (a listing reads the whole bucket's).
    const objects = await this.objects.objects(`${this.key}.`);
    const packs = objects.filter((o) => o.name.startsWith(packPrefix(this.key)));
    const history = objects.filter((o) => o.name.startsWith(historyPrefix(this.key)));
    const named = new Set(this.manifest?.packs.map((p) => p.name));
    const current = new Set(history.map((h) => h.nuid));
    for (const nuid of this.historyPacks.keys()) if (!current.has(nuid)) this.historyPacks.delete(nuid);
    for (const copy of history) {
      let names = this.historyPacks.get(copy.nuid);
      if (names === undefined) {
        names = (await this.objects.manifest(copy.name))?.packs.map((p) => p.name) ?? [];
        this.historyPacks.set(copy.nuid, names);
      }
      for (const pack of names) named.add(pack);
    }
    for (const { name } of packs) {
      const generation = packGeneration(this.key, name);
      if (generation !== undefined && generation <= this.generation && !named.has(name)) await this.objects.delete(name);
    }
  }

  /** Objects no pointer names: saves of earlier holders that were fenced off, or landed after their claim. */
  private async removeUnnamed(): Promise<void> {
    const names = await this.objects.names(objectPrefix(this.key));
    for (const name of names) if (name !== this.object) await this.objects.delete(name).catch(() => {});
  }
}

/** Whether `key` has a latest checkpoint (a pointer naming one, or the object from before pointers). */
export async function hasLatestCheckpoint(kv: KV, objects: CheckpointObjects, key: string): Promise<boolean> {
  const entry = await kv.get(checkpointPointerKey(key));
  if (entry?.operation === 'PUT') return (parsePointer(entry.string())?.object ?? null) !== null;
  return (await objects.names(key)).includes(key);
}

/** Delete `key`'s latest checkpoint: its pointer, its manifests and its packs (`rxa reset`, holding the lease, after the history). */
export async function deleteLatestCheckpoint(kv: KV, objects: CheckpointObjects, key: string): Promise<void> {
  await kv.delete(checkpointPointerKey(key));
  for (const name of await objects.names(objectPrefix(key))) await objects.delete(name);
  for (const name of await objects.names(packPrefix(key))) await objects.delete(name);
  if ((await objects.names(key)).includes(key)) await objects.delete(key);
}

function parsePointer(text: string): Pointer | undefined {
  try {
    return Pointer.safeParse(JSON.parse(text)).data;
  } catch {
    return undefined; // not JSON
  }
}
