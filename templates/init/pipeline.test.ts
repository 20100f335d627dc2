/**
 * The pipeline over events in memory and in virtual time: no NATS, no ClickHouse.
 * `npm test` type-checks it, then runs it with vitest.
 */
import { testPipeline } from 'rxstream-analytics/testing';
import { describe, expect, it } from 'vitest';
import pipeline from './pipeline.ts';

describe('revenue per product per minute', () => {
  const t0 = Date.UTC(2025, 0, 1);

  it('sums orders per product and minute, once per order_id', async () => {
    const { rows, deadLetters } = await testPipeline(pipeline, [
      { order_id: 'o-1', product: 'latte', quantity: 2, unit_price: 3.5, ts: t0 + 1_000 },
      { order_id: 'o-2', product: 'tea', quantity: 1, unit_price: 2, ts: t0 + 2_000 },
      { order_id: 'o-2', product: 'tea', quantity: 1, unit_price: 2, ts: t0 + 2_000 }, // re-sent: counted once
      { order_id: 'o-3', product: 'latte', quantity: 1, unit_price: 4, ts: t0 + 61_000 },
      'not json', // dead-lettered
    ]);

    expect(rows.product_revenue_1m).toEqual([
      { window_start: t0, product: 'latte', revenue: 7, orders: 1, units: 2, version: 1 },
      { window_start: t0, product: 'tea', revenue: 2, orders: 1, units: 1, version: 1 },
      { window_start: t0 + 60_000, product: 'latte', revenue: 4, orders: 1, units: 1, version: 1 },
    ]);
    expect(deadLetters).toMatchObject([{ stage: 'validate', payload: 'not json' }]);
  });
});
