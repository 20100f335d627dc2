/** What counts as JetStream not answering just now, with errors from the real server where it can make them. */
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../core/config.ts';
import { testId } from '../test/support/helpers.ts';
import { isUnavailable, retryWhileUnavailable } from './unavailable.ts';

let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: configFromEnv().nats.servers });
});

afterAll(async () => {
  await nc.close();
});

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a failure'),
    (error: unknown) => error,
  );
}

describe('isUnavailable', () => {
  it('is true for a request nobody answers or that times out, as JetStream without a leader fails', async () => {
    // A JetStream API no server serves: what a cluster between meta leaders looks like (nats.js: "jetstream is not enabled").
    const noResponders = await failure(jetstreamManager(nc, { apiPrefix: `$JS.rxa_nowhere_${testId()}.API` }));
    expect(noResponders).toMatchObject({ name: 'JetStreamNotEnabled' });
    expect(isUnavailable(noResponders)).toBe(true);
    expect(isUnavailable(await failure(nc.request(`rxa.nobody.${testId()}`)))).toBe(true);
    const sub = nc.subscribe(`rxa.silent.${testId()}`); // interest, never an answer: a follower that drops the request
    expect(isUnavailable(await failure(nc.request(sub.getSubject(), undefined, { timeout: 200 })))).toBe(true);
    sub.unsubscribe();
    expect(isUnavailable(new errors.TimeoutError())).toBe(true);
    // As nats-server 2.9 answers while its cluster has no meta leader.
    expect(isUnavailable(new JetStreamApiError({ code: 503, err_code: 10008, description: 'JetStream system temporarily unavailable' }))).toBe(true);
    expect(isUnavailable(new JetStreamApiError({ code: 500, err_code: 10009, description: 'JetStream cluster can not handle request' }))).toBe(true);
  });

  it('is false for an answer that the request is wrong, and for a closed connection', async () => {
    const jsm = await jetstreamManager(nc);
    expect(isUnavailable(await failure(jsm.streams.info(`RXA_MISSING_${testId()}`)))).toBe(false);
    expect(isUnavailable(await failure(jsm.streams.add({ name: 'bad.name', subjects: ['x'] })))).toBe(false);
    expect(isUnavailable(new Error('an operator failed'))).toBe(false);
    const closed = await connect({ servers: configFromEnv().nats.servers });
    await closed.close();
    expect(isUnavailable(await failure(closed.request('rxa.anything')))).toBe(false);
  });

  it('retries only while the step is unavailable', async () => {
    let attempts = 0;
    const log: string[] = [];
    const value = await retryWhileUnavailable(
      async () => {
        if (++attempts < 3) throw new errors.TimeoutError();
        return 'answered';
      },
      'asking',
      { log: (m) => log.push(m) },
    );
    expect({ value, attempts }).toEqual({ value: 'answered', attempts: 3 });
    expect(log).toEqual(['asking failed (attempt 1), retrying in 100 ms: TimeoutError: timeout']);
    await expect(retryWhileUnavailable(async () => Promise.reject(new Error('wrong')), 'asking', { log: () => {} })).rejects.toThrow('wrong');
  });
});
