import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { z } from 'zod';

/**
 * A pipeline's checkpoint: operator state plus the last stream sequence folded into it.
 * Restoring it and consuming from `lastSeq + 1` reproduces exactly the output of an
 * uninterrupted run (operators are deterministic and input order is the stream order).
 */
export const Checkpoint = z.object({
  format: z.literal(1),
  pipeline: z.string(),
  stream: z.string(),
  lastSeq: z.number().int().nonnegative(),
  takenAt: z.number(),
  operators: z.record(z.string(), z.unknown()),
  counters: z.record(z.string(), z.number()),
});
export type Checkpoint = z.output<typeof Checkpoint>;

/**
 * Checkpoints live in a JetStream object store (chunked, so state larger than the 1 MB message
 * limit fits). A put replaces the object atomically: readers see the old or the new checkpoint.
 */
export class CheckpointStore {
  private constructor(private readonly store: ObjectStore) {}

  static async open(nc: NatsConnection, bucket: string): Promise<CheckpointStore> {
    return new CheckpointStore(await new Objm(nc).create(bucket, { description: 'rxa pipeline checkpoints' }));
  }

  async load(key: string): Promise<Checkpoint | undefined> {
    const data = await this.store.getBlob(key);
    if (!data) return undefined;
    return Checkpoint.parse(JSON.parse(new TextDecoder().decode(data)));
  }

  async save(key: string, checkpoint: Checkpoint): Promise<void> {
    await this.store.putBlob({ name: key }, new TextEncoder().encode(JSON.stringify(checkpoint)));
  }

  async delete(key: string): Promise<void> {
    await this.store.delete(key);
  }
}
