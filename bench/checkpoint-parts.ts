import { encodeCheckpoint } from '../core/checkpoint-codec.ts';
import { chunkHash } from '../core/checkpoint-packs.ts';
import { contentChunks } from '../core/content-chunks.ts';

/** Of one part of a snapshot: its bytes cut into content-defined chunks, and those of chunks it did not have at the last `measure`. */
export interface PartBytes {
  readonly bytes: number;
  readonly fresh: number;
}

/**
 * What each part of the operators' state (`<operator>.<field>`) costs an incremental checkpoint:
 * each part encoded and chunked on its own, as core/content-chunks.ts cuts a checkpoint, and its
 * chunks compared with its chunks at the previous call. Which state churns its chunks, and why a
 * save writes what it writes (`bench-checkpoints --by-part`).
 */
export class CheckpointParts {
  private previous = new Map<string, Set<string>>();

  async measure(operators: Readonly<Record<string, unknown>>): Promise<Map<string, PartBytes>> {
    const current = new Map<string, Set<string>>();
    const out = new Map<string, PartBytes>();
    for (const [operator, state] of Object.entries(operators)) {
      const fields = state !== null && typeof state === 'object' && !Array.isArray(state) ? Object.entries(state) : [['', state] as const];
      for (const [field, value] of fields) {
        const part = field === '' ? operator : `${operator}.${field}`;
        const seen = this.previous.get(part);
        const hashes = new Set<string>();
        let bytes = 0;
        let fresh = 0;
        for await (const chunk of contentChunks(encodeCheckpoint({ [part]: value }))) {
          const hash = chunkHash(chunk);
          hashes.add(hash);
          bytes += chunk.byteLength;
          if (!seen?.has(hash)) fresh += chunk.byteLength;
        }
        current.set(part, hashes);
        out.set(part, { bytes, fresh });
      }
    }
    this.previous = current;
    return out;
  }
}
