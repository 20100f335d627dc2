import { assertSqlIdentifier, quoteIdent, quoteTable } from './sql.ts';

/**
 * A ClickHouse table declared once in TypeScript: the DDL is generated from it and the row type is
 * read off it, so the rows a pipeline writes are checked against the table at compile time.
 *
 * Every table is a ReplacingMergeTree: rows are deterministic functions of the input, keyed by
 * `orderBy`, so a re-delivered or replayed message rewrites the same row instead of adding one.
 * Windowed aggregates carry a `version` (the number of events folded into the window): an early,
 * partial result is replaced by the complete one, never the other way round. Read with `FINAL`.
 *
 * Every table also has `rxa_partition UInt16`, added by the framework as the first column and the
 * first sorting key column, and filled by the writer with the source partition the row comes from
 * (0 when the pipeline is not partitioned). Partitions own disjoint keys, so two partitions writing
 * the same `(window_start, url)` must not replace each other: read tables summed over partitions.
 * Row types do not include it; `build()` never sees it.
 *
 * Readers need neither: every table gets a read view, `<table>_current` (`table.current` in panel
 * SQL), that applies FINAL and merges the partitions' rows per key with each column's merge rule
 * (`merge`; sum for numbers, any for the rest unless declared). See sinks/clickhouse/read-view.ts.
 *
 * Column types are limited to what behaves the same on ClickHouse 18.16 and current releases.
 */
export interface ColumnTypes {
  String: string;
  /** Epoch milliseconds in rows; stored with second precision (DateTime64 does not exist on 18.16). */
  DateTime: number;
  UInt8: number;
  UInt16: number;
  UInt32: number;
  UInt64: number;
  Int64: number;
  Float64: number;
  'Array(String)': string[];
  'Array(UInt64)': number[];
  'Nullable(String)': string | null;
  'Nullable(Float64)': number | null;
}
export type ColumnType = keyof ColumnTypes;

/** The column every table gets first, keying rows by the source partition that wrote them. */
export const PARTITION_COLUMN = 'rxa_partition';
const PARTITION_COLUMN_TYPE = 'UInt16';
export type Columns = Readonly<Record<string, ColumnType>>;

/**
 * How a column's values from several partitions' rows for one key combine in the read view.
 * `sum` for counts and totals (partitions hold disjoint events), `max`/`min` for extremes, `any`
 * for values every partition writes alike (a category looked up from the key). A value that
 * cannot be combined (an average, a percentile, a top-k list) is exact only when one partition
 * writes each key: partition by that key, or keep the pipeline unpartitioned.
 */
export type MergeRule = 'sum' | 'max' | 'min' | 'any';
const NUMERIC: ReadonlySet<ColumnType> = new Set(['UInt8', 'UInt16', 'UInt32', 'UInt64', 'Int64', 'Float64', 'Nullable(Float64)']);

/** A view to read a table through (`${table.current}` in panel SQL). */
export interface ReadView {
  readonly name: string;
}

export interface TableOptions<C extends Columns> {
  columns: C;
  /** Sorting key, which is also the replacing (dedup) key. */
  orderBy: ReadonlyArray<keyof C & string>;
  /** Version column: the row with the highest version wins. Without it, the last inserted wins. */
  version?: keyof C & string;
  /** A DateTime column to partition by month. */
  partitionByMonth?: keyof C & string;
  /**
   * How each non-key column merges across partitions in the read view `<name>_current`. Default:
   * `sum` for numeric columns (the version included), `any` for the others.
   */
  merge?: Partial<Record<keyof C & string, MergeRule>>;
}

/** What the runtime needs to know of any table, whatever its columns. */
export interface AnyTable {
  readonly name: string;
  readonly columns: Columns;
  readonly orderBy: readonly string[];
  readonly version: string | undefined;
  readonly partitionByMonth: string | undefined;
  /** Every column not in `orderBy`, with its merge rule (defaults filled in). */
  readonly merge: Readonly<Record<string, MergeRule>>;
  /** The read view, `<name>_current`. */
  readonly current: ReadView;
}

/** `N`: the table's name as a literal type (what `defineTable` was given), so rows can be keyed by it. */
export interface Table<C extends Columns = Columns, N extends string = string> extends AnyTable {
  readonly name: N;
  readonly columns: C;
  readonly orderBy: ReadonlyArray<keyof C & string>;
  readonly version: (keyof C & string) | undefined;
  readonly partitionByMonth: (keyof C & string) | undefined;
  /** Phantom field carrying the row type; never set at runtime. */
  readonly $row?: RowOf<C>;
}

export type RowOf<C extends Columns> = { [K in keyof C]: ColumnTypes[C[K]] };
export type TableRow<T extends AnyTable> = T extends Table<infer C> ? RowOf<C> : never;

export function defineTable<const C extends Columns, const N extends string = string>(name: N, options: TableOptions<C>): Table<C, N> {
  assertSqlIdentifier('defineTable: the table name', name);
  for (const column of Object.keys(options.columns)) {
    assertSqlIdentifier(`table ${name}: the column name`, column);
    if (column === PARTITION_COLUMN) throw new Error(`table ${name}: '${PARTITION_COLUMN}' is reserved (the framework adds it to every table)`);
  }
  for (const key of options.orderBy) {
    if (!(key in options.columns)) throw new Error(`table ${name}: orderBy column '${key}' is not declared`);
    if (options.columns[key]?.startsWith('Nullable')) throw new Error(`table ${name}: orderBy column '${key}' must not be Nullable`);
  }
  if (options.version && options.columns[options.version] !== 'UInt64') {
    throw new Error(`table ${name}: version column '${options.version}' must be UInt64`);
  }
  if (options.partitionByMonth && options.columns[options.partitionByMonth] !== 'DateTime') {
    throw new Error(`table ${name}: partitionByMonth column '${options.partitionByMonth}' must be DateTime`);
  }
  const view = `${name}${READ_VIEW_SUFFIX}`;
  assertSqlIdentifier(`table ${name}: its read view`, view);
  return {
    name,
    columns: options.columns,
    orderBy: options.orderBy,
    version: options.version,
    partitionByMonth: options.partitionByMonth,
    merge: mergeRules(name, options),
    current: { name: view },
  };
}

/** The read view's name is the table's with this suffix. */
export const READ_VIEW_SUFFIX = '_current';

interface MergeInput {
  columns: Columns;
  orderBy: readonly string[];
  merge?: Partial<Record<string, MergeRule>> | undefined;
}

function mergeRules(table: string, options: MergeInput): Record<string, MergeRule> {
  const declared = options.merge ?? {};
  for (const [column, rule] of Object.entries(declared)) {
    const type = options.columns[column];
    if (type === undefined) throw new Error(`table ${table}: merge rule for '${column}', which is not a declared column`);
    if (options.orderBy.includes(column))
      throw new Error(`table ${table}: '${column}' is in orderBy: key columns group the read view, they take no merge rule`);
    if (rule === 'sum' && !NUMERIC.has(type)) throw new Error(`table ${table}: merge rule 'sum' for '${column}' (${type}): sum takes a numeric column`);
    if (!['sum', 'max', 'min', 'any'].includes(rule as string))
      throw new Error(`table ${table}: unknown merge rule ${JSON.stringify(rule)} for '${column}' (sum, max, min or any)`);
  }
  const rules: Record<string, MergeRule> = {};
  for (const [column, type] of Object.entries(options.columns)) {
    if (!options.orderBy.includes(column)) rules[column] = declared[column] ?? (NUMERIC.has(type) ? 'sum' : 'any');
  }
  return rules;
}

/** `CREATE TABLE IF NOT EXISTS` for this table, valid on ClickHouse 18.16 and current releases. */
export function createTableSql(table: AnyTable, database: string): string {
  const engine = table.version ? `ReplacingMergeTree(${quoteIdent(table.version)})` : 'ReplacingMergeTree()';
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(database, table.name)} ${tableBodySql(table, engine)}`;
}

/**
 * What follows the name in this table's CREATE TABLE, with `engine`: the columns, the engine, the
 * partitioning and the sorting key. Shared with the cluster DDL (sinks/clickhouse/cluster.ts).
 */
export function tableBodySql(table: AnyTable, engine: string): string {
  const partition = table.partitionByMonth ? `\nPARTITION BY toYYYYMM(${quoteIdent(table.partitionByMonth)})` : '';
  return `${columnsSql(table)}\nENGINE = ${engine}${partition}\nORDER BY (${[PARTITION_COLUMN, ...table.orderBy].map(quoteIdent).join(', ')})`;
}

/** The parenthesized column list, `rxa_partition` first. */
export function columnsSql(table: AnyTable): string {
  const all: Array<[string, string]> = [[PARTITION_COLUMN, PARTITION_COLUMN_TYPE], ...Object.entries(table.columns)];
  return `(\n${all.map(([name, type]) => `  ${quoteIdent(name)} ${type}`).join(',\n')}\n)`;
}
