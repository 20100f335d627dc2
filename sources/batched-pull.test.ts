/** BatchedPull against the local NATS: order, batching when caught up, a backlog, stopping, a deleted consumer. */
import { AckPolicy, type Consumer, type JetStreamManager, type JsMsg, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../core/config.ts';
import { testId, waitFor } from '../test/support/helpers.ts';
import { BatchedPull } from './batched-pull.ts';
import { isConsumerGone } from './durable-consumer.ts';

let nc: NatsConnection;
let jsm: JetStreamManager;
const streams: string[] = [];

beforeAll(async () => {
  nc = await connect({ servers: configFromEnv().nats.servers });
  jsm = await jetstreamManager(nc);
});

afterEach(async () => {
  for (const stream of streams.splice(0)) await jsm.streams.delete(stream).catch(() => {});
});

afterAll(async () => {
  await nc.close();
});

/**
 * A fresh stream and durable pull consumer; `fetches` counts the pulls sent through it and what each
 * asked for, `infos` when it was asked for its pending count (`performance.now()`).
 */
async function setup(): Promise<{ subject: string; consumer: Consumer; fetches: number[]; infos: number[]; stream: string }> {
  const stream = `BATCHED_PULL_${testId()}`;
  streams.push(stream);
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  await jsm.consumers.add(stream, { durable_name: 'c', ack_policy: AckPolicy.All, mem_storage: true, max_ack_pending: 100_000 });
  const consumer = await jetstream(nc).consumers.get(stream, 'c');
  const fetches: number[] = [];
  const fetch = consumer.fetch.bind(consumer);
  consumer.fetch = (opts) => {
    fetches.push((opts as { max_messages: number }).max_messages);
    return fetch(opts);
  };
  const infos: number[] = [];
  const info = consumer.info.bind(consumer);
  consumer.info = (cached) => {
    infos.push(performance.now());
    return info(cached);
  };
  return { subject: `${stream}.events`, consumer, fetches, infos, stream };
}

/** Reads `pull` until `count` messages came, returning their payloads as numbers. */
async function read(pull: BatchedPull, count: number): Promise<number[]> {
  const seen: number[] = [];
  for await (const msg of pull) {
    seen.push(Number(new TextDecoder().decode(msg.data)));
    if (seen.length === count) break;
  }
  return seen;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('BatchedPull', () => {
  it('reads a backlog in stream order, in pulls of at most `batch`', async () => {
    const { subject, consumer, fetches, stream } = await setup();
    for (let i = 0; i < 5_000; i++) nc.publish(subject, String(i));
    await nc.flush();
    await waitFor(async () => (await jsm.streams.info(stream)).state.messages === 5_000, 10_000, 'the 5,000 messages to be stored');

    const seen = await read(new BatchedPull(consumer, { batch: 1_000, lingerMs: 50 }), 5_000);
    expect(seen).toEqual(range(0, 5_000));
    expect(fetches.every((n) => n <= 1_000)).toBe(true);
    expect(fetches.reduce((a, b) => a + b, 0)).toBe(5_000);
  });

  it('when caught up, lets messages accumulate for `lingerMs` and takes them in one pull', async () => {
    const { subject, consumer, fetches, infos } = await setup();
    const pull = new BatchedPull(consumer, { batch: 1_000, lingerMs: 100 });
    const reading = read(pull, 400);
    // 400 messages over ~1 s, 2 every 5 ms: a standing pull would take them one delivery at a time,
    // and a pull sent as soon as one is seen waiting would go out about every 5 ms.
    for (let i = 0; i < 400; i += 2) {
      nc.publish(subject, String(i));
      nc.publish(subject, String(i + 1));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await reading).toEqual(range(0, 400));
    // Found nothing waiting, it asks again only after the linger (a timer may fire a millisecond
    // early by Node's rounding).
    expect(infos.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < infos.length; i++) expect(infos[i]! - infos[i - 1]!).toBeGreaterThanOrEqual(98);
    // Far fewer pulls than messages: ~15 here when the machine is quiet, one per linger and another
    // when messages came in while a pull's were delivered; more when a loaded machine stretches the
    // round trips past the 5 ms between publishes (35 seen under the whole suite).
    expect(fetches.length).toBeGreaterThanOrEqual(3);
    expect(fetches.length).toBeLessThanOrEqual(100);
  });

  it('ends on stop(), and throws the error given to stop(error)', async () => {
    const { consumer } = await setup();
    const quiet = new BatchedPull(consumer, { batch: 100, lingerMs: 20 });
    const ended = read(quiet, 1);
    setTimeout(() => quiet.stop(), 100);
    expect(await ended).toEqual([]);

    const failing = new BatchedPull(consumer, { batch: 100, lingerMs: 20 });
    const failed = read(failing, 1);
    setTimeout(() => failing.stop(new Error('watched consumer is gone')), 100);
    await expect(failed).rejects.toThrow('watched consumer is gone');
  });

  it('ends with an error the runner recognizes when its consumer is deleted', async () => {
    const { subject, consumer, stream } = await setup();
    nc.publish(subject, '0');
    const pull = new BatchedPull(consumer, { batch: 100, lingerMs: 20 });
    const seen: JsMsg[] = [];
    const reading = (async () => {
      for await (const msg of pull) {
        seen.push(msg);
        await jsm.consumers.delete(stream, 'c');
      }
    })();
    const error = await reading.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(seen).toHaveLength(1);
    expect(isConsumerGone(error)).toBe(true);
  });
});
