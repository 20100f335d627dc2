import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseError } from '@clickhouse/client';
import { retry } from '../../common/retry.ts';
import { EncodedRows } from './encoded-rows.ts';
import { quoteTable } from './sql.ts';
import type { AnyTable } from './table.ts';

/**
 * Writes rows to ClickHouse with `INSERT INTO db.table FORMAT TabSeparated`, one request per batch
 * (an `EncodedRows`, whose bytes are the request body).
 *
 * - Transient failures (network, server overload, timeouts, missing table during a restart) are
 *   retried with exponential backoff, for as long as it takes: the caller does not ack the source
 *   until `insert` resolves, so waiting here is what makes a slow or dead ClickHouse slow the
 *   pipeline down instead of losing data.
 * - Data errors (the server cannot parse or convert a row) are not retried: the batch is bisected
 *   until the offending rows are isolated; they come back in the result (`rejected`, for the
 *   dead-letter path) and every other row is written. Re-inserting the good halves is safe because every table is
 *   keyed by deterministic rows (see table.ts).
 */
export interface WriterOptions {
  /** Written to every row's `rxa_partition` (see table.ts). @default 0 */
  partition?: number;
  /** First retry delay. @default 100 */
  initialBackoffMs?: number;
  /** Retry delay cap. @default 5_000 */
  maxBackoffMs?: number;
  /** Stop retrying (the insert rejects with the last error) once this aborts. */
  signal?: AbortSignal;
  onRetry?: (table: string, error: unknown, attempt: number, delayMs: number) => void;
}

/** A row the server rejected: its table, the row as JSON of what was sent (see `EncodedRows.line`), and the server's reason. */
export interface RejectedRow {
  readonly table: string;
  readonly line: string;
  readonly reason: string;
}

export interface InsertResult {
  written: number;
  /** In batch order. */
  rejected: RejectedRow[];
}

/** ClickHouse error codes meaning "this data cannot be inserted", not "try again later". */
const DATA_ERROR_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '32', // ATTEMPT_TO_READ_AFTER_EOF
  '38', // CANNOT_PARSE_DATE
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
  '349', // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  '1001', // STD_EXCEPTION (e.g. bad UTF-8 sequences in some versions)
]);

export function isDataError(error: unknown): boolean {
  const code = clickHouseErrorCode(error);
  return code !== undefined && DATA_ERROR_CODES.has(code);
}

/**
 * The server's error code. Current servers' errors parse into ClickHouseError; 18.16 formats them
 * as `Code: 27, e.displayText() = DB::Exception: ...`, which the client passes on as a plain Error.
 */
export function clickHouseErrorCode(error: unknown): string | undefined {
  if (error instanceof ClickHouseError) return error.code;
  if (error instanceof Error) return /^Code: (\d+)[.,]/.exec(error.message)?.[1];
  return undefined;
}

export class ClickHouseWriter {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly database: string,
    private readonly options: WriterOptions = {},
  ) {}

  /** Encode and write `rows` (see `write`). */
  async insert(table: AnyTable, rows: ReadonlyArray<Readonly<Record<string, unknown>>>): Promise<InsertResult> {
    const batch = EncodedRows.for(table, this.options.partition);
    for (const row of rows) batch.push(row);
    const result = await this.write(batch);
    batch.release();
    return result;
  }

  /**
   * Write a batch of encoded rows: retried while the failure is transient, bisected when the
   * server rejects rows. The caller owns the batch (and releases it once this resolves).
   */
  write(batch: EncodedRows): Promise<InsertResult> {
    if (batch.length === 0) return Promise.resolve({ written: 0, rejected: [] });
    return this.insertOrBisect(batch, 0, batch.length);
  }

  private async insertOrBisect(batch: EncodedRows, start: number, end: number): Promise<InsertResult> {
    try {
      await this.insertWithRetry(batch, start, end);
      return { written: end - start, rejected: [] };
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (end - start === 1) {
        return { written: 0, rejected: [{ table: batch.table.name, line: batch.line(start), reason: (error as Error).message }] };
      }
      const mid = (start + end) >>> 1;
      const left = await this.insertOrBisect(batch, start, mid);
      const right = await this.insertOrBisect(batch, mid, end);
      return { written: left.written + right.written, rejected: [...left.rejected, ...right.rejected] };
    }
  }

  private async insertWithRetry(batch: EncodedRows, start: number, end: number): Promise<void> {
    const { initialBackoffMs, maxBackoffMs, signal, onRetry } = this.options;
    const query = `INSERT INTO ${quoteTable(this.database, batch.table.name)} FORMAT TabSeparated`;
    await retry(
      async () => {
        // The batch's bytes are the body as they are (client.insert would JSON-encode row objects into one string).
        const { stream } = await this.client.exec({ query, values: Readable.from(batch.slices(start, end)) });
        stream.resume();
        await finished(stream);
      },
      {
        signal,
        ...(initialBackoffMs !== undefined ? { initialMs: initialBackoffMs } : {}),
        ...(maxBackoffMs !== undefined ? { maxMs: maxBackoffMs } : {}),
        retryable: (error) => !isDataError(error),
        ...(onRetry ? { onRetry: (error: unknown, attempt: number, delay: number) => onRetry(batch.table.name, error, attempt, delay) } : {}),
      },
    );
  }
}
