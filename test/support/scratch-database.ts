import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll } from 'vitest';
import { createClickHouseClient } from '../../core/clickhouse-client.ts';
import { configFromEnv } from '../../core/config.ts';
import { testId } from './helpers.ts';

/**
 * A ClickHouse database of its own on the shared server, for the tests of a file or a `describe`
 * block: its name (`<prefix>_<test id>`, not created) and a client. Dropped, and the client closed,
 * after those tests.
 */
export function useScratchDatabase(prefix: string): { readonly database: string; readonly client: ClickHouseClient } {
  const database = `${prefix}_${testId()}`;
  const client = createClickHouseClient(configFromEnv().clickhouse);
  afterAll(async () => {
    await client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await client.close();
  });
  return { database, client };
}
