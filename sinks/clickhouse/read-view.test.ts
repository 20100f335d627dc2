/**
 * Read views on the installed ClickHouse: a view whose definition is unchanged is left alone. A view
 * dropped and created again at every start fails the queries (and the creations) of processes
 * starting beside it, as 8 partitions of a pipeline do.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { useScratchDatabase } from '../../test/support/scratch-database.ts';
import { ensureReadViews } from './read-view.ts';
import { ensureTables } from './schema.ts';
import { defineTable } from './table.ts';

const { database, client } = useScratchDatabase('rxa_read_view');

const definition = { columns: { window_start: 'DateTime', url: 'String', views: 'UInt64' }, orderBy: ['window_start', 'url'] } as const;
const views = defineTable('views', definition);

/** The real client, with the DDL it is asked to run written down. */
function recording(commands: string[]): ClickHouseClient {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'command') {
        return (params: Parameters<ClickHouseClient['command']>[0]) => {
          commands.push(params.query);
          return target.command(params);
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('ensureReadViews', () => {
  it('leaves an unchanged view alone, and replaces one whose definition changed', async () => {
    await ensureTables(client, database, [views]);
    const unchanged: string[] = [];
    await ensureReadViews(recording(unchanged), database, [views]);
    expect(unchanged).toEqual([]);

    const merged = defineTable('views', { ...definition, merge: { views: 'max' } });
    const changed: string[] = [];
    await ensureReadViews(recording(changed), database, [merged]);
    expect(changed.map((q) => q.split(' ').slice(0, 2).join(' '))).toEqual(['DROP TABLE', 'CREATE VIEW']);
  });
});
