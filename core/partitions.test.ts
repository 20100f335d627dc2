/**
 * How a pipeline definition maps to runners: consumer, subject filter, checkpoint key and row
 * partition per partition; unpartitioned pipelines keep the names they had before partitions.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import clickstream, { CLICKSTREAM_PARTITIONS, createClickstreamPipeline } from '../pipelines/clickstream.ts';
import { allRunTargets, parsePartitionList, runTarget, selectPartitions } from './partitions.ts';
import { definePipeline, type SourceSpec } from './pipeline.ts';

const pipeline = (source: SourceSpec) => definePipeline({ name: 'orders', source, schema: z.object({ id: z.string() }), tables: {}, build: () => ({}) });
const partitioned = pipeline({ stream: 'ORDERS', subjects: ['orders.>'], consumer: 'orders_live', partitions: { count: 3, subject: (p) => `orders.p${p}` } });

describe('runTarget', () => {
  it('gives each partition its consumer, subject filter, checkpoint key and row partition', () => {
    expect(allRunTargets(partitioned)).toEqual([
      { partition: 0, durable: 'orders_live_p0', filterSubject: 'orders.p0', checkpointKey: 'pipeline.orders.p0', rowPartition: 0, label: 'orders/p0' },
      { partition: 1, durable: 'orders_live_p1', filterSubject: 'orders.p1', checkpointKey: 'pipeline.orders.p1', rowPartition: 1, label: 'orders/p1' },
      { partition: 2, durable: 'orders_live_p2', filterSubject: 'orders.p2', checkpointKey: 'pipeline.orders.p2', rowPartition: 2, label: 'orders/p2' },
    ]);
  });

  it('keeps the names of an unpartitioned pipeline as they were', () => {
    expect(allRunTargets(pipeline({ stream: 'ORDERS', subjects: ['orders.>'] }))).toEqual([
      { partition: undefined, durable: 'orders', filterSubject: undefined, checkpointKey: 'pipeline.orders', rowPartition: 0, label: 'orders' },
    ]);
    expect(runTarget(pipeline({ stream: 'ORDERS', subjects: ['orders.>'], filterSubject: 'orders.eu' }))).toMatchObject({
      durable: 'orders',
      filterSubject: 'orders.eu',
    });
  });

  it('refuses a partition that does not exist, or none for a partitioned pipeline', () => {
    expect(() => runTarget(partitioned)).toThrow("pipeline 'orders' has 3 partitions: say which one to run");
    expect(() => runTarget(partitioned, 3)).toThrow("pipeline 'orders' has partitions 0..2, not 3");
    expect(() => runTarget(pipeline({ stream: 'ORDERS', subjects: ['orders.>'] }), 0)).toThrow("pipeline 'orders' is not partitioned");
  });

  it('runs the clickstream pipeline as the generator publishes it: user partitions on clickstream.events.<p>', () => {
    expect(clickstream.source.partitions?.count).toBe(CLICKSTREAM_PARTITIONS);
    expect(allRunTargets(clickstream).map((t) => [t.durable, t.filterSubject, t.checkpointKey])).toEqual([
      ['clickstream_p0', 'clickstream.events.0', 'pipeline.clickstream.p0'],
      ['clickstream_p1', 'clickstream.events.1', 'pipeline.clickstream.p1'],
      ['clickstream_p2', 'clickstream.events.2', 'pipeline.clickstream.p2'],
      ['clickstream_p3', 'clickstream.events.3', 'pipeline.clickstream.p3'],
    ]);
    expect(createClickstreamPipeline().source.partitions).toBeUndefined();
  });
});

describe('source.partitions validation', () => {
  const base = { stream: 'ORDERS', subjects: ['orders.>'] };
  it.each([
    ['a count of 0', { ...base, partitions: { count: 0, subject: (p: number) => `orders.${p}` } }, 'source.partitions.count'],
    [
      'a filterSubject next to partitions',
      { ...base, filterSubject: 'orders.eu', partitions: { count: 2, subject: (p: number) => `orders.${p}` } },
      'filterSubject and partitions exclude each other',
    ],
    ['the same subject twice', { ...base, partitions: { count: 2, subject: () => 'orders.all' } }, "subject(1) = subject(0) = 'orders.all'"],
    ['an invalid subject', { ...base, partitions: { count: 2, subject: (p: number) => `orders ${p}` } }, 'subject(0) = "orders 0": must be a NATS subject'],
    [
      'consumer names past 64 characters',
      { ...base, consumer: 'c'.repeat(62), partitions: { count: 2, subject: (p: number) => `orders.${p}` } },
      'partition consumer names',
    ],
  ])('rejects %s', (_what, source, message) => {
    expect(() => pipeline(source as SourceSpec)).toThrow(message);
  });
});

describe('--partitions', () => {
  it('parses lists and ranges, sorted and de-duplicated', () => {
    expect(parsePartitionList('0', 4)).toEqual([0]);
    expect(parsePartitionList('3,0-1, 1', 4)).toEqual([0, 1, 3]);
    expect(() => parsePartitionList('4', 4)).toThrow('partition 4 does not exist: the pipeline has partitions 0..3');
    expect(() => parsePartitionList('2-1', 4)).toThrow('a range goes up');
    expect(() => parsePartitionList('a', 4)).toThrow('is not a partition list');
  });

  it('means all partitions when omitted, and is refused for an unpartitioned pipeline', () => {
    expect(selectPartitions(partitioned, undefined)).toBeUndefined();
    expect(selectPartitions(partitioned, '1-2')).toEqual([1, 2]);
    expect(() => selectPartitions(pipeline({ stream: 'ORDERS', subjects: ['orders.>'] }), '0')).toThrow('is not partitioned');
  });
});
