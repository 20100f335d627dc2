import type { JetStreamManager } from '@nats-io/jetstream';
import { isNotFound } from '../sources/streams.ts';
import type { PipelineDefinition } from './pipeline.ts';

/**
 * How many of the stream's messages are on no partition's subject, so no runner will ever process
 * them: a publisher using more partitions than the definition declares (`rxa gen --partitions 8`
 * for a 4-partition pipeline) puts them there. Counts per subject from the stream's state, one
 * request per partition; `undefined` for an unpartitioned pipeline or a stream not created yet.
 */
export async function uncoveredMessages(jsm: JetStreamManager, definition: PipelineDefinition): Promise<{ uncovered: number; total: number } | undefined> {
  const { stream, partitions } = definition.source;
  if (!partitions) return undefined;
  try {
    const total = (await jsm.streams.info(stream)).state.messages;
    let covered = 0;
    for (let p = 0; p < partitions.count; p++) {
      const { state } = await jsm.streams.info(stream, { subjects_filter: partitions.subject(p) });
      for (const n of Object.values(state.subjects ?? {})) covered += n;
    }
    return { uncovered: Math.max(0, total - covered), total };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
