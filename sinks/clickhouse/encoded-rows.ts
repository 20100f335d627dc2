import { rowFromTabSeparated, type TabSeparatedEncoder, tabSeparatedEncoder } from './tab-separated.ts';
import type { AnyTable } from './table.ts';

/** Rows are written into buffers of this size (a longer line gets a buffer of its own). */
const CHUNK = 65_536;
/** Released buffers kept for reuse, at most (32 MB). */
const POOL_MAX = 512;
const NEWLINE = 0x0a;

/**
 * Buffers of released batches, reused: memory fresh from the allocator costs a page fault per 4 KB
 * on first write (measured here: 0.5 us per row for fresh 1 MB buffers, 0.08 us reused).
 */
const pool: Buffer[] = [];

/** Each table's generated row encoder, per partition (generated once, not per batch). */
const encoders = new WeakMap<AnyTable, Map<number, TabSeparatedEncoder>>();

/**
 * Rows of one table as `TabSeparated` lines (see tab-separated.ts), encoded when the row is produced and kept as UTF-8
 * bytes outside V8's heap until they are written.
 *
 * Why not keep the row objects until the insert: a row waits for its write for a flush interval
 * or longer, which is long enough for V8 to move it (and its strings) into the old generation,
 * where it becomes garbage that only a full collection frees. At tens of thousands of rows per
 * second that garbage, and the one-string request body built from it, set the process's RSS. Here
 * a row's JSON string dies young; its bytes go back to a pool once the batch is written (`release`),
 * and the batch is the request body as it is, with no copy.
 *
 * Lines never span two buffers, so any range of rows is a list of buffer slices (the writer
 * bisects ranges to isolate rows the server rejects).
 */
export class EncodedRows {
  private readonly buffers: Buffer[] = [];
  /** Where each buffer's bytes start in the batch, and how many it holds. */
  private readonly starts: number[] = [];
  private readonly used: number[] = [];
  /** End offset (exclusive, newline included) of each row's line in the batch. */
  private readonly ends: number[] = [];
  private current: Buffer | undefined;
  private fill = 0;
  private size = 0;

  constructor(
    readonly table: AnyTable,
    private readonly encode: TabSeparatedEncoder,
  ) {}

  /** An empty batch for `table`, its rows written with `rxa_partition` = `partition`. */
  static for(table: AnyTable, partition = 0): EncodedRows {
    let byPartition = encoders.get(table);
    if (!byPartition) {
      byPartition = new Map();
      encoders.set(table, byPartition);
    }
    let encode = byPartition.get(partition);
    if (!encode) {
      encode = tabSeparatedEncoder(table, partition);
      byPartition.set(partition, encode);
    }
    return new EncodedRows(table, encode);
  }

  /** An empty batch for the same table and partition. */
  empty(): EncodedRows {
    return new EncodedRows(this.table, this.encode);
  }

  get length(): number {
    return this.ends.length;
  }

  get byteLength(): number {
    return this.size;
  }

  push(row: Readonly<Record<string, unknown>>): void {
    const line = this.encode(row);
    // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units).
    const worst = line.length * 3 + 1;
    let buffer = this.current;
    // A line that may not fit a buffer is measured: a dead letter carries its payload (up to the
    // 1 MB a NATS message holds), and such a line got a buffer of 3 bytes per character of its own.
    // Those were garbage the ClickHouse client kept reachable: each kept-alive socket holds on to its
    // first request (the 'free' listener it sets closes over it), body included; in a heap snapshot
    // of the pipeline at 2.5M events, 120 such buffers of ~149 KB (16.9 MB) for dead letters of ~50 KB.
    // Now a line goes into a shared, reused buffer when it fits one, else gets one of its size.
    if (buffer === undefined || this.fill + worst > buffer.length) buffer = this.grow(worst > CHUNK ? Buffer.byteLength(line) + 1 : worst);
    const written = buffer.write(line, this.fill);
    buffer[this.fill + written] = NEWLINE;
    this.fill += written + 1;
    this.size += written + 1;
    this.used[this.used.length - 1] = this.fill;
    this.ends.push(this.size);
  }

  /** The bytes of rows `start` to `end` (exclusive): a request body, as slices of the batch's buffers. */
  slices(start = 0, end = this.length): Buffer[] {
    if (start >= end) return [];
    const from = start === 0 ? 0 : this.ends[start - 1]!;
    const to = this.ends[end - 1]!;
    const out: Buffer[] = [];
    for (let i = 0; i < this.buffers.length; i++) {
      const bufferStart = this.starts[i]!;
      const bufferEnd = bufferStart + this.used[i]!;
      if (bufferEnd <= from) continue;
      if (bufferStart >= to) break;
      out.push(this.buffers[i]!.subarray(Math.max(from, bufferStart) - bufferStart, Math.min(to, bufferEnd) - bufferStart));
    }
    return out;
  }

  /** Row `index` as ClickHouse was sent it (`rxa_partition` included), as a JSON object: what a dead letter carries. */
  line(index: number): string {
    return JSON.stringify(this.row(index));
  }

  /**
   * Hand the buffers back for reuse once the rows are written and nothing reads them any more
   * (no request body in flight). The batch is empty afterwards.
   */
  release(): void {
    for (const buffer of this.buffers) if (buffer.length === CHUNK && pool.length < POOL_MAX) pool.push(buffer);
    this.buffers.length = 0;
    this.starts.length = 0;
    this.used.length = 0;
    this.ends.length = 0;
    this.current = undefined;
    this.fill = 0;
    this.size = 0;
  }

  /** Every row as ClickHouse receives it (tests, debugging). */
  decode(): Record<string, unknown>[] {
    return Array.from({ length: this.length }, (_, i) => this.row(i));
  }

  private row(index: number): Record<string, unknown> {
    const line = Buffer.concat(this.slices(index, index + 1)).toString('utf8', 0, this.lineBytes(index) - 1);
    return rowFromTabSeparated(this.table, line);
  }

  private lineBytes(index: number): number {
    return this.ends[index]! - (index === 0 ? 0 : this.ends[index - 1]!);
  }

  private grow(atLeast: number): Buffer {
    const buffer = atLeast > CHUNK ? Buffer.allocUnsafeSlow(atLeast) : (pool.pop() ?? Buffer.allocUnsafeSlow(CHUNK));
    this.buffers.push(buffer);
    this.starts.push(this.size);
    this.used.push(0);
    this.current = buffer;
    this.fill = 0;
    return buffer;
  }
}
