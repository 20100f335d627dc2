/**
 * Order events in, revenue and order count per product per minute out.
 * Run it: `npm start` (needs NATS with JetStream and ClickHouse, see README.md).
 */
import { map } from 'rxjs';
import { combine, count, dedupe, defineDashboard, definePipeline, defineTable, sql, sum, tumbling, windowRow } from 'rxstream-analytics';
import { z } from 'zod';

/** One order event; messages that are not JSON or do not match go to the dead-letter stream. */
export const Order = z.object({
  order_id: z.string().min(1),
  product: z.string().min(1),
  quantity: z.number().int().positive(),
  unit_price: z.number().nonnegative(),
  ts: z.number().int().positive(), // event time, epoch ms
});
export type Order = z.infer<typeof Order>;

/** Read it through its view, product_revenue_1m_current: the latest version of each window, partitions merged. */
export const revenue = defineTable('product_revenue_1m', {
  columns: { window_start: 'DateTime', product: 'String', revenue: 'Float64', orders: 'UInt64', units: 'UInt64', version: 'UInt64' },
  orderBy: ['window_start', 'product'],
  version: 'version',
});

/** Shown by `rxa run ./pipeline.ts --serve <port>`; `rxa dashboards ./pipeline.ts --out <dir>` writes it for Grafana. */
export const dashboard = defineDashboard({
  uid: 'orders',
  title: 'Orders',
  refresh: '5s',
  timeRange: 'now-1h',
  panels: [
    {
      title: 'Revenue per minute',
      type: 'timeseries',
      width: 16,
      height: 8,
      sql: sql`
        SELECT window_start AS time, sum(revenue) AS revenue
        FROM ${revenue.current}
        WHERE $__timeFilter(window_start)
        GROUP BY time
        ORDER BY time
      `,
    },
    {
      title: 'Top products',
      type: 'barchart',
      xField: 'product',
      width: 8,
      height: 8,
      sql: sql`
        SELECT product, sum(revenue) AS revenue
        FROM ${revenue.current}
        WHERE $__timeFilter(window_start)
        GROUP BY product
        ORDER BY revenue DESC
        LIMIT 10
      `,
    },
  ],
});

export default definePipeline({
  name: 'orders',
  source: { stream: 'ORDERS', subjects: ['orders.>'] },
  // Messages are parsed and validated with the schema before build() sees them.
  schema: Order,
  // Event time, declared once: dedupe and every window read it from here.
  eventTime: { time: (o) => o.ts, maxOutOfOrderMs: 10_000 },
  tables: { revenue },
  dashboards: [dashboard],
  build: (orders) => ({
    revenue: orders.pipe(
      // A re-sent order (same order_id within 10 minutes of event time) counts once.
      dedupe({ id: 'dedupe', key: (o) => o.order_id, ttlMs: 10 * 60_000 }),
      tumbling({
        id: 'revenue',
        sizeMs: 60_000,
        key: (o) => o.product,
        aggregate: combine({ revenue: sum((o) => o.quantity * o.unit_price), orders: count(), units: sum((o) => o.quantity) }),
      }),
      map((w) => windowRow(w, { window_start: w.start, product: w.key, revenue: w.value.revenue, orders: w.value.orders, units: w.value.units })),
    ),
  }),
});
