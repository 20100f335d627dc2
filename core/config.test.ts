import { describe, expect, it } from 'vitest';
import { configFromEnv } from './config.ts';

describe('configFromEnv', () => {
  it('has defaults for everything', () => {
    expect(configFromEnv({})).toEqual({
      nats: { servers: ['127.0.0.1:4222'], streamReplicas: 1 },
      clickhouse: { url: 'http://127.0.0.1:8123', database: 'analytics', username: 'default', password: '', requestTimeoutMs: 30_000 },
      checkpointBucket: 'rxa_checkpoints',
      heapGrowingPercent: 100,
    });
  });

  it('reads RXA_* variables, and explicit overrides win over them', () => {
    const env = { RXA_NATS_URL: 'nats:4222', RXA_CLICKHOUSE_DB: 'db1', RXA_CHECKPOINT_BUCKET: 'b1', RXA_HEAP_GROWING_PERCENT: '0' };
    expect(configFromEnv(env)).toMatchObject({
      nats: { servers: ['nats:4222'], streamReplicas: 1 },
      clickhouse: { database: 'db1' },
      checkpointBucket: 'b1',
      heapGrowingPercent: 0,
    });
    expect(configFromEnv(env, { clickhouse: { database: 'db2' }, heapGrowingPercent: 50 })).toMatchObject({
      clickhouse: { database: 'db2' },
      heapGrowingPercent: 50,
    });
  });

  it('reads a cluster: RXA_NATS_URL as a comma-separated list, RXA_STREAM_REPLICAS', () => {
    const env = { RXA_NATS_URL: ' nats-1:4222, nats://nats-2:4222 ,nats-3:4222,', RXA_STREAM_REPLICAS: '3' };
    expect(configFromEnv(env).nats).toEqual({ servers: ['nats-1:4222', 'nats://nats-2:4222', 'nats-3:4222'], streamReplicas: 3 });
    expect(configFromEnv({}, { nats: { servers: ['127.0.0.1:4223', '127.0.0.1:4224'] } }).nats.servers).toEqual(['127.0.0.1:4223', '127.0.0.1:4224']);
    expect(() => configFromEnv({ RXA_NATS_URL: 'nats-1:4222,http://nats-2:4222', RXA_STREAM_REPLICAS: '7' })).toThrow(
      /invalid config:\n {2}- nats\.servers\.1: must be a NATS server, `host:port` or `nats:\/\/host:port`; got 'http:\/\/nats-2:4222'\n {2}- nats\.streamReplicas: /,
    );
    expect(() => configFromEnv({ RXA_NATS_URL: ' , ' })).toThrow(/nats\.servers: must name at least one NATS server/);
  });

  it('rejects invalid values with one message listing every problem', () => {
    expect(() => configFromEnv({ RXA_HEAP_GROWING_PERCENT: 'lots', RXA_CLICKHOUSE_DB: 'x; DROP' })).toThrow(
      /invalid config:\n {2}- clickhouse\.database: .*\n {2}- heapGrowingPercent: /,
    );
  });
});
