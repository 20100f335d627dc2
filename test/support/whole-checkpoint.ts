import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { encodeCheckpoint } from '../../core/checkpoint-codec.ts';

/**
 * Store `checkpoint` whole in one object, as builds before manifests (core/checkpoint-packs.ts)
 * did: tests write these to prove they still load, or are refused as they should be.
 */
export async function saveWholeCheckpoint(nc: NatsConnection, bucket: string, name: string, checkpoint: unknown): Promise<void> {
  const pieces: Uint8Array[] = [];
  for await (const piece of encodeCheckpoint(checkpoint)) pieces.push(piece);
  const objects = await new Objm(nc).create(bucket);
  await objects.putBlob({ name, options: { max_chunk_size: 1024 * 1024 - 4096 } }, Buffer.concat(pieces));
}
