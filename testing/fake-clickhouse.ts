/**
 * A stand-in for the ClickHouse client a pipeline's `build` (or `setup`) gets in its BuildContext,
 * for tests: reference-data lookups answered by a function of the query, no server.
 */
import type { ClickHouseClient } from '@clickhouse/client';

/** What a `query` handler gets: the client's own parameters. */
export interface FakeQuery {
  readonly query: string;
  readonly format?: string;
  readonly query_params?: Readonly<Record<string, unknown>>;
}

export interface FakeClickHouseHandlers {
  /**
   * Answer a query with its rows (objects, as JSONEachRow gives them). `json()` of the result is
   * the rows for the `...EachRow` formats, `{ data: rows, rows: n, meta: [] }` for `JSON` (the
   * client's default format); `text()` is the rows as JSONEachRow lines. May return a promise.
   * @default every query fails (the lookup's events are dead-lettered, with that reason)
   */
  query?: (query: FakeQuery) => readonly unknown[] | PromiseLike<readonly unknown[]>;
  /** Called for each `insert` (e.g. by a `setup` seeding reference data). @default inserts fail */
  insert?: (params: { readonly table: string; readonly values: unknown; readonly format?: string }) => void | PromiseLike<void>;
  /** Called for each `command` (DDL). @default commands fail */
  command?: (params: { readonly query: string }) => void | PromiseLike<void>;
}

/**
 * A ClickHouse client that answers `query`, `insert` and `command` with the given handlers; any
 * other method, or one without a handler, rejects with an error saying so (a lookup's events are
 * then dead-lettered with that reason, after the operator's retries, in virtual time).
 *
 * @example
 * ```ts
 * const categories = new Map([['/cart', 'cart']]);
 * const clickhouse = fakeClickHouse({
 *   query: ({ query }) => {
 *     const path = /path = '([^']*)'/.exec(query)?.[1] ?? '';
 *     return categories.has(path) ? [{ category: categories.get(path) }] : [];
 *   },
 * });
 * await testPipeline(pipeline, events, { context: { clickhouse } });
 * ```
 */
export function fakeClickHouse(handlers: FakeClickHouseHandlers = {}): ClickHouseClient {
  const missing = (method: string, detail: string): Promise<never> =>
    Promise.reject(
      new Error(
        `no ClickHouse in this test: ${method}(${detail}) has no handler; give testPipeline a context.clickhouse, e.g. fakeClickHouse({ ${method}: ... })`,
      ),
    );
  const client = {
    async query(params: FakeQuery) {
      if (!handlers.query) return missing('query', abbreviate(params.query));
      const rows = [...(await handlers.query(params))];
      const format = params.format ?? 'JSON';
      return {
        query_id: 'fake',
        json: async () => (format.endsWith('EachRow') ? rows : { data: rows, rows: rows.length, meta: [] }),
        text: async () => rows.map((row) => `${JSON.stringify(row)}\n`).join(''),
        close: () => {},
      };
    },
    async insert(params: { table: string; values: unknown; format?: string }) {
      if (!handlers.insert) return missing('insert', params.table);
      await handlers.insert(params);
      return { executed: true, query_id: 'fake' };
    },
    async command(params: { query: string }) {
      if (!handlers.command) return missing('command', abbreviate(params.query));
      await handlers.command(params);
      return { query_id: 'fake' };
    },
    exec: () => missing('exec', ''),
    ping: async () => ({ success: true }),
    close: async () => {},
  };
  return client as unknown as ClickHouseClient;
}

function abbreviate(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 80)}…` : flat);
}
