import { JetStreamApiError, type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** JetStream's publish dedup window (Nats-Msg-Id). @default 120_000 */
  duplicateWindowMs?: number;
  /** Drop messages older than this; 0 keeps them (needed for replay/backfill). @default 0 */
  maxAgeMs?: number;
  /** Servers holding a copy, on a cluster (`nats.streamReplicas`); applied when the stream is created. @default 1 */
  replicas?: number;
}

/**
 * Create the stream if it does not exist; if it exists, make sure it captures the subjects.
 * Limits retention: messages stay after they are acked, which is what makes replay possible.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  try {
    const info = await jsm.streams.info(spec.name);
    const missing = spec.subjects.filter((s) => !info.config.subjects?.includes(s));
    if (missing.length > 0) {
      await jsm.streams.update(spec.name, { subjects: [...(info.config.subjects ?? []), ...missing] });
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add({
      name: spec.name,
      subjects: spec.subjects,
      storage: StorageType.File,
      duplicate_window: nanos(spec.duplicateWindowMs ?? 120_000),
      max_age: nanos(spec.maxAgeMs ?? 0),
      num_replicas: spec.replicas ?? 1,
    });
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 10059 || error.code === 10014);
}
