import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import type { Checkpoint } from './checkpoint-store.ts';
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

/** What the latest checkpoint needs of the object store (core/checkpoint-store.ts `CheckpointStore`). */
export interface CheckpointObjects {
  load(name: string): Promise<Checkpoint | undefined>;
  save(name: string, checkpoint: Checkpoint): Promise<number>;
  delete(name: string): Promise<void>;
  /** Names of the objects (not deleted) starting with `prefix`. */
  names(prefix: string): Promise<string[]>;
}

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
 * Each save writes an object of its own (this holder's, alternating between two names, so the one
 * the pointer names is never overwritten), then moves the pointer to it with compare-and-set on the
 * pointer's revision. A new holder first rewrites the pointer (`claim`), which moves its revision:
 * an earlier holder's pending compare-and-set fails, and that save rejects with `LeaseLost` before
 * its ack (core/checkpointer.ts acks only after a save resolves). Its object is left unnamed, and
 * removed at the next claim.
 */
export class LatestCheckpoint {
  private fenced: LeaseLost | undefined;

  private constructor(
    private readonly kv: KV,
    private readonly objects: CheckpointObjects,
    readonly key: string,
    private readonly holder: string,
    private revision: number,
    private object: string | null,
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
      const latest = new LatestCheckpoint(kv, objects, key, holder, revision, object);
      const checkpoint = object === null ? undefined : await objects.load(object);
      await latest.removeUnnamed();
      return { latest, checkpoint };
    }
  }

  /** Save `checkpoint` as the latest; rejects with `LeaseLost` once another holder claimed the pointer. Resolves with the size stored. */
  async save(checkpoint: Checkpoint): Promise<number> {
    if (this.fenced) throw this.fenced;
    const prefix = `${objectPrefix(this.key)}${this.holder}.`;
    const name = `${prefix}${this.object === `${prefix}0` ? 1 : 0}`;
    const size = await this.objects.save(name, checkpoint);
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
    // An earlier holder's (or the one from before pointers): ours are overwritten in turn.
    if (previous !== null && !previous.startsWith(prefix)) await this.objects.delete(previous).catch(() => {});
    return size;
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

/** Delete `key`'s latest checkpoint: its pointer and its objects (`rxa reset`, holding the lease). */
export async function deleteLatestCheckpoint(kv: KV, objects: CheckpointObjects, key: string): Promise<void> {
  await kv.delete(checkpointPointerKey(key));
  for (const name of await objects.names(objectPrefix(key))) await objects.delete(name);
  if ((await objects.names(key)).includes(key)) await objects.delete(key);
}

function parsePointer(text: string): Pointer | undefined {
  try {
    return Pointer.safeParse(JSON.parse(text)).data;
  } catch {
    return undefined; // not JSON
  }
}
