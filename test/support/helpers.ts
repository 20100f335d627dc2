import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { jetstreamManager } from '@nats-io/jetstream';
import { type KV, KvWatchInclude } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkpointStreams } from '../../core/checkpoint-store.ts';
import { DEAD_LETTER_STREAM } from '../../sinks/dead-letter.ts';

/** A short unique id for names: NATS keeps state between runs, so every test names its own things. */
export function testId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Poll until `condition` holds; fail with `what` after `timeoutMs` (a function: the state it describes as it was then). */
export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string | (() => string) = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The writes of `key` from now on, as they happen (a KV watch): its values, or the operation of a
 * delete or purge. For counting a lease's renewals, and telling whose they were.
 */
export async function watchKey(kv: KV, key: string): Promise<{ readonly writes: readonly string[]; stop(): void }> {
  const writes: string[] = [];
  const watch = await kv.watch({ key, include: KvWatchInclude.UpdatesOnly });
  void (async () => {
    for await (const entry of watch) writes.push(entry.operation === 'PUT' ? entry.string() : entry.operation);
  })();
  return { writes, stop: () => watch.stop() };
}

/** Remove what a test created on the shared servers. */
export async function dropTestResources(resources: {
  nc: NatsConnection;
  ch: ClickHouseClient;
  streams?: string[];
  buckets?: string[];
  databases?: string[];
  deadLetterPipelines?: string[];
}): Promise<void> {
  const jsm = await jetstreamManager(resources.nc);
  for (const stream of [...(resources.streams ?? []), ...(resources.buckets ?? []).flatMap(checkpointStreams)]) {
    await jsm.streams.delete(stream).catch(() => {});
  }
  for (const pipeline of resources.deadLetterPipelines ?? []) {
    await jsm.streams.purge(DEAD_LETTER_STREAM, { filter: `rxa.dlq.${pipeline}.>` }).catch(() => {});
  }
  for (const database of resources.databases ?? []) {
    await resources.ch.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
  }
}
