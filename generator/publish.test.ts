import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect, nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPublisher } from '../core/event-publisher.ts';
import clickstream from '../pipelines/clickstream.ts';
import type { GeneratedMessage, GeneratorOptions } from './clickstream.ts';
import { generateClickstream } from './clickstream.ts';
import { partitionSubject, publishMessages } from './publish.ts';

const servers = process.env.NATS_URL ?? '127.0.0.1:4222';
const suffix = Math.random().toString(36).slice(2, 10);
const prefix = `gen-test-${suffix}`;
const stream = `GEN_TEST_${suffix.toUpperCase()}`;
const generator: GeneratorOptions = { seed: 11, startTime: Date.UTC(2025, 0, 1), eventsPerSecond: 5 };

function take(options: GeneratorOptions, n: number): GeneratedMessage[] {
  const out: GeneratedMessage[] = [];
  for (const m of generateClickstream(options)) {
    out.push(m);
    if (out.length === n) break;
  }
  return out;
}

/** Subjects by user, so one user's events stay on one partition; bad messages spread round-robin. */
const subjectFor = (m: GeneratedMessage, i: number): string => (m.kind === 'malformed' ? `${prefix}.${i % 4}` : partitionSubject(prefix, m.event.user_id, 4));

async function storedMessages(jsm: JetStreamManager): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

describe('publishMessages against JetStream', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;

  beforeAll(async () => {
    nc = await connect({ servers, name: 'generator-test' });
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], duplicate_window: nanos(120_000) });
  });

  afterAll(async () => {
    await jsm?.streams.delete(stream).catch(() => false);
    await nc?.close();
  });

  it('stores every message once: JetStream drops same-msgId re-sends, retries with a new msgId get through', async () => {
    const messages = take({ ...generator, duplicateRate: 0.05 }, 5_000);
    const sameMsgId = messages.filter((m) => m.kind === 'duplicate' && m.sameMsgId).length;
    const newMsgId = messages.filter((m) => m.kind === 'duplicate' && !m.sameMsgId).length;
    expect(sameMsgId).toBeGreaterThan(50);
    expect(newMsgId).toBeGreaterThan(50);
    const progress: number[] = [];

    const before = await storedMessages(jsm);
    const result = await publishMessages(js, subjectFor, messages, { onProgress: (n) => progress.push(n) });

    expect(result).toEqual({ published: 5_000, duplicatesDropped: sameMsgId, oversized: 0 });
    expect((await storedMessages(jsm)) - before).toBe(result.published - result.duplicatesDropped);
    expect(progress.at(-1)).toBe(5_000);

    // Each user's events went to a single partition subject.
    const subjects = new Map<string, Set<string>>();
    messages.forEach((m, i) => {
      if (m.kind === 'malformed') return;
      subjects.set(m.event.user_id, (subjects.get(m.event.user_id) ?? new Set()).add(subjectFor(m, i)));
    });
    expect([...subjects.values()].every((s) => s.size === 1)).toBe(true);
  });

  it('takes `count` messages from an infinite generator and paces them by wall clock', async () => {
    const started = performance.now();
    const result = await publishMessages(js, subjectFor, generateClickstream({ ...generator, seed: 12 }), {
      count: 300,
      ratePerSecond: 1_000,
    });
    const elapsed = performance.now() - started;
    expect(result.published).toBe(300);
    // 300 messages at 1000/s: the last is due at 299 ms; ticks of >= 10 ms may release a batch early.
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('accepts async iterables', async () => {
    async function* source(): AsyncGenerator<GeneratedMessage> {
      yield* take({ ...generator, seed: 13 }, 50);
    }
    expect((await publishMessages(js, subjectFor, source(), {})).published).toBe(50);
  });

  it('publishes every malformation, the 48 KiB oversized one included', async () => {
    // Two rounds of the edge-case cycle: 16 malformations (2 oversized), 2 unicode-edge events and 2 with an added field.
    const messages = take({ ...generator, seed: 14, malformedRate: 1 }, 20);
    expect(messages.filter((m) => m.kind === 'malformed' && m.malformation === 'oversized')).toHaveLength(2);
    const result = await publishMessages(js, subjectFor, messages, {});
    expect(result).toEqual({ published: 20, duplicatesDropped: 0, oversized: 0 });
  });

  it("publishes events through the pipeline's contract: checked, stamped with their version; malformed messages as they are", async () => {
    const messages = take({ ...generator, seed: 17, malformedRate: 0.3 }, 200);
    const before = (await jsm.streams.info(stream)).state.last_seq;
    const publisher = eventPublisher(js, clickstream, { cloudEvents: { source: 'rxa/gen' } });
    expect(await publishMessages(js, subjectFor, messages, { publisher })).toMatchObject({ published: 200 });
    for (const [i, m] of messages.entries()) {
      const stored = await jsm.streams.getMessage(stream, { seq: before + 1 + i });
      expect(Buffer.from(stored!.data).equals(Buffer.from(m.payload))).toBe(true);
      if (m.kind === 'malformed' || (m.kind === 'valid' && m.addedField !== undefined)) expect(stored!.header.get('rxa-schema-version')).toBe('');
      else {
        expect(stored!.header.get('rxa-schema-version')).toBe('1');
        expect(stored!.header.get('ce-id')).toBe(m.event.event_id);
        expect(stored!.header.get('ce-dataschema')).toBe('urn:rxa:clickstream:1');
      }
    }
    expect(messages.some((m) => m.kind === 'malformed')).toBe(true);
    expect(messages.some((m) => m.kind === 'valid' && m.addedField !== undefined)).toBe(true);
    // An event the schema refuses is the producer's bug: it fails before anything is published.
    const [valid] = messages.filter((m) => m.kind === 'valid');
    expect(() => publisher.encode({ ...valid!.event, country: 'Germany' })).toThrow(/^clickstream: not a valid version 1 event: country: /);
    expect(() => publisher.encode({ ...valid!.event, session_hint: 'x' } as never)).toThrow('clickstream: field session_hint not in version 1');
  });

  it('counts payloads over the server max_payload instead of failing', async () => {
    const [first] = take({ ...generator, seed: 16 }, 1);
    const tooBig: GeneratedMessage = { kind: 'malformed', malformation: 'oversized', payload: new Uint8Array(2 * 1024 * 1024), msgId: 'too-big' };
    const result = await publishMessages(js, subjectFor, [first!, tooBig], {});
    expect(result).toEqual({ published: 1, duplicatesDropped: 0, oversized: 1 });
  });

  it('stops on abort and returns what was acknowledged', async () => {
    const controller = new AbortController();
    const result = await publishMessages(js, subjectFor, generateClickstream({ ...generator, seed: 15 }), {
      ratePerSecond: 200,
      signal: controller.signal,
      onProgress: (n) => n >= 20 && controller.abort(),
    });
    expect(result.published).toBeGreaterThanOrEqual(20);
    expect(result.published).toBeLessThan(200);
  });
});

describe('publishMessages flow control', () => {
  /** A stand-in client whose acks the test releases by hand. */
  function fakeClient(fail?: (subject: string) => Error | undefined): {
    js: JetStreamClient;
    pending: Array<() => void>;
    maxPending: () => number;
  } {
    const pending: Array<() => void> = [];
    let max = 0;
    const publish = (subject: string): Promise<PubAck> =>
      new Promise((resolve, reject) => {
        pending.push(() => {
          const error = fail?.(subject);
          if (error !== undefined) reject(error);
          else resolve({ stream: 'FAKE', seq: 1, duplicate: false });
        });
        max = Math.max(max, pending.length);
      });
    return { js: { publish } as unknown as JetStreamClient, pending, maxPending: () => max };
  }

  async function drain(pending: Array<() => void>, done: () => boolean): Promise<void> {
    while (!done()) {
      for (const settle of pending.splice(0)) settle();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('keeps at most maxInFlight PubAcks outstanding', async () => {
    const { js, pending, maxPending } = fakeClient();
    let finished = false;
    const run = publishMessages(js, () => 'subject', take(generator, 1_000), { maxInFlight: 64 }).finally(() => (finished = true));
    await drain(pending, () => finished);
    expect(await run).toEqual({ published: 1_000, duplicatesDropped: 0, oversized: 0 });
    expect(maxPending()).toBe(64);
  });

  it('rejects with the first publish error after the in-flight acks settle', async () => {
    let calls = 0;
    const { js, pending } = fakeClient(() => (++calls === 10 ? new Error('stream gone') : undefined));
    let finished = false;
    const run = publishMessages(js, () => 'subject', take(generator, 1_000), { maxInFlight: 8 }).finally(() => (finished = true));
    run.catch(() => undefined);
    await drain(pending, () => finished);
    await expect(run).rejects.toThrow('stream gone');
    expect(pending).toHaveLength(0);
  });

  it('rejects bad options', async () => {
    const { js } = fakeClient();
    await expect(publishMessages(js, () => 's', [], { maxInFlight: 0 })).rejects.toThrow('maxInFlight');
    await expect(publishMessages(js, () => 's', [], { ratePerSecond: -1 })).rejects.toThrow('ratePerSecond');
  });
});
