import { describe, expect, it } from 'vitest';
import { configFromEnv } from './config.ts';

describe('configFromEnv', () => {
  it('has defaults for everything', () => {
    expect(configFromEnv({})).toEqual({
      nats: { servers: '127.0.0.1:4222' },
      clickhouse: { url: 'http://127.0.0.1:8123', database: 'analytics', username: 'default', password: '', requestTimeoutMs: 30_000 },
      checkpointBucket: 'rxa_checkpoints',
      heapGrowingPercent: 100,
    });
  });

  it('reads RXA_* variables, and explicit overrides win over them', () => {
    const env = { RXA_NATS_URL: 'nats:4222', RXA_CLICKHOUSE_DB: 'db1', RXA_CHECKPOINT_BUCKET: 'b1', RXA_HEAP_GROWING_PERCENT: '0' };
    expect(configFromEnv(env)).toMatchObject({
      nats: { servers: 'nats:4222' },
      clickhouse: { database: 'db1' },
      checkpointBucket: 'b1',
      heapGrowingPercent: 0,
    });
    expect(configFromEnv(env, { clickhouse: { database: 'db2' }, heapGrowingPercent: 50 })).toMatchObject({
      clickhouse: { database: 'db2' },
      heapGrowingPercent: 50,
    });
  });

  it('rejects invalid values with one message listing every problem', () => {
    expect(() => configFromEnv({ RXA_HEAP_GROWING_PERCENT: 'lots', RXA_CLICKHOUSE_DB: 'x; DROP' })).toThrow(
      /invalid config:\n {2}- clickhouse\.database: .*\n {2}- heapGrowingPercent: /,
    );
  });
});
