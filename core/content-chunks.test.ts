import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test/support/seeded-random.ts';
import { CHUNK_MAX_BYTES, CHUNK_MIN_BYTES, contentChunks } from './content-chunks.ts';

async function* piecesOf(bytes: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let k = 0; at < bytes.byteLength; k++) {
    const size = sizes[k % sizes.length]!;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function chunksOf(bytes: Uint8Array, sizes: readonly number[] = [bytes.byteLength]): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of contentChunks(piecesOf(bytes, sizes))) chunks.push(Buffer.from(chunk));
  return chunks;
}

/** Bytes from a fixed seed (the LCG's high bits: its low ones repeat early), the same in every run. */
function randomBytes(length: number, seed: number): Buffer {
  const random = seededRandom(seed);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random.float() * 256);
  return bytes;
}

const hex = (chunks: readonly Buffer[]) => new Set(chunks.map((c) => c.toString('base64')));

describe('contentChunks', () => {
  const data = randomBytes(6 * 1024 * 1024, 5);

  it('cuts the bytes, in order, into chunks between the minimum and maximum size', async () => {
    const chunks = await chunksOf(data);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.byteLength).toBeGreaterThanOrEqual(CHUNK_MIN_BYTES);
      expect(chunk.byteLength).toBeLessThanOrEqual(CHUNK_MAX_BYTES);
    }
    // Random bytes: sizes spread around the 64 KiB target.
    expect(chunks.length).toBeGreaterThan(data.byteLength / CHUNK_MAX_BYTES);
    expect(chunks.length).toBeLessThan(data.byteLength / CHUNK_MIN_BYTES);
  });

  it('cuts in the same places however the bytes come in pieces', async () => {
    const sizes = async (pieces?: number[]) => (await chunksOf(data, pieces)).map((c) => c.byteLength);
    const whole = await sizes();
    expect(await sizes([1, 7, 31, 4096, 100_000, 65_536, 3])).toEqual(whole);
    expect(await sizes([CHUNK_MIN_BYTES - 5, 40])).toEqual(whole);
  });

  it('cuts bytes without content (zeros) at the maximum size', async () => {
    const chunks = await chunksOf(new Uint8Array(CHUNK_MAX_BYTES * 3 + 10));
    expect(chunks.map((c) => c.byteLength)).toEqual([CHUNK_MAX_BYTES, CHUNK_MAX_BYTES, CHUNK_MAX_BYTES, 10]);
  });

  it('finds the same chunks after bytes are removed at the front and added at the back', async () => {
    const before = await chunksOf(data);
    const after = await chunksOf(Buffer.concat([data.subarray(123_457), randomBytes(200_000, 6)]));
    const old = hex(before);
    const kept = after.filter((c) => old.has(c.toString('base64')));
    const keptBytes = kept.reduce((n, c) => n + c.byteLength, 0);
    // All but the chunks at the two edits (a few chunks each) are the same.
    expect(keptBytes).toBeGreaterThan(data.byteLength - 123_457 - 4 * CHUNK_MAX_BYTES);
  });

  it('finds the same chunks after a few bytes change in the middle', async () => {
    const changed = Buffer.from(data);
    changed[3_000_000] = changed[3_000_000]! ^ 0xff;
    const old = hex(await chunksOf(data));
    const fresh = (await chunksOf(changed)).filter((c) => !old.has(c.toString('base64')));
    // The chunk holding it, and the next few while the cuts fall back into step.
    expect(fresh.length).toBeLessThanOrEqual(4);
  });
});
