/**
 * The API is not clickstream-specific: a pipeline of another shape, in a file outside pipelines/,
 * run exactly as a user would (`rxa run ./file.ts` in a child process), then stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../core/clickhouse-client.ts';
import { configFromEnv } from '../core/config.ts';
import { dropTestResources, testId, waitFor } from './support/helpers.ts';

const id = testId();
const database = `rxa_orders_${id}`;
const bucket = `rxa_ckpt_${id}`;
const FIVE_MINUTES = 5 * 60_000;

let child: ChildProcess | undefined;

afterAll(async () => {
  child?.kill('SIGKILL');
  const nc = await connect({ servers: configFromEnv().nats.servers });
  const ch = createClickHouseClient(configFromEnv().clickhouse);
  await dropTestResources({ nc, ch, streams: [`ORDERS_${id}`], buckets: [bucket], databases: [database], deadLetterPipelines: [`orders_${id}`] });
  await ch.close();
  await nc.close();
});

describe('a user pipeline run with `rxa run <file>`', () => {
  it('aggregates order revenue per product per 5 minutes and shuts down cleanly on SIGTERM', async () => {
    const nc = await connect({ servers: configFromEnv().nats.servers });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `ORDERS_${id}`, subjects: [`orders_${id}.>`] });
    const js = jetstream(nc);

    // 1,000 orders over 30 minutes of event time, plus one that is not an order at all.
    const products = ['espresso', 'latte', 'mocha', 'tea'];
    const base = Math.floor((Date.now() - 3_600_000) / FIVE_MINUTES) * FIVE_MINUTES;
    const expected = new Map<string, { revenue: number; orders: number; units: number }>();
    for (let i = 0; i < 1_000; i++) {
      const order = { order_id: `o-${i}`, product: products[i % 4]!, quantity: 1 + (i % 3), unit_price: 2.5 + (i % 4), ts: base + i * 1_800 };
      await js.publish(`orders_${id}.new`, JSON.stringify(order), { msgID: order.order_id });
      const key = `${Math.floor(order.ts / FIVE_MINUTES) * FIVE_MINUTES}|${order.product}`;
      const e = expected.get(key) ?? { revenue: 0, orders: 0, units: 0 };
      e.revenue += order.quantity * order.unit_price;
      e.orders++;
      e.units += order.quantity;
      expected.set(key, e);
    }
    await js.publish(`orders_${id}.new`, '{"order_id": "broken", "quantity": "many"}');

    child = spawn(process.execPath, ['bin/rxa.js', 'run', 'test/fixtures/orders-pipeline.ts', '--quiet'], {
      env: { ...process.env, RXA_TEST_ID: id, RXA_CLICKHOUSE_DB: database, RXA_CHECKPOINT_BUCKET: bucket },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = once(child, 'exit');

    const ch = createClickHouseClient(configFromEnv().clickhouse, database);
    const query = async <T>(sql: string): Promise<T[]> =>
      (await ch.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
    await waitFor(
      async () => {
        try {
          const [row] = await query<{ n: number }>('SELECT sum(orders) AS n FROM product_revenue_5m FINAL');
          return row?.n === 1_000;
        } catch {
          return false; // the pipeline has not created its tables yet
        }
      },
      60_000,
      'all 1,000 orders in ClickHouse',
    );
    const rows = await query<{ w: number; product: string; revenue: number; orders: number; units: number }>(
      'SELECT toUnixTimestamp(window_start) * 1000 AS w, product, revenue, orders, units FROM product_revenue_5m FINAL',
    );
    expect(new Map(rows.map((r) => [`${r.w}|${r.product}`, { revenue: r.revenue, orders: r.orders, units: r.units }]))).toEqual(expected);
    await waitFor(
      async () => (await query<{ n: number }>(`SELECT count() AS n FROM rxa_dead_letters FINAL`))[0]?.n === 1,
      10_000,
      'the broken order dead-lettered',
    );

    child.kill('SIGTERM');
    const [code] = (await Promise.race([
      exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error('no exit within 20 s of SIGTERM')), 20_000)),
    ])) as [number | null];
    expect(code).toBe(0);
    child = undefined;
    await ch.close();
    await nc.close();
  }, 120_000);
});
