import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

const twoTo32 = 0x1_0000_0000;

/**
 * The generator's per-event randomness: a seeded xoroshiro128+ with the few draws the simulation needs.
 * Draws use 32 bits each; the tiny modulo bias is irrelevant for a traffic simulation and it keeps
 * the hot path to one `next()` per draw.
 */
export class Random {
  readonly #rng: RandomGenerator;

  constructor(seed: number) {
    this.#rng = xoroshiro128plus(seed);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return (this.#rng.next() >>> 0) / twoTo32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** Raw 32 unsigned bits. */
  uint32(): number {
    return this.#rng.next() >>> 0;
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: ReadonlyArray<T>): T {
    return items[this.int(items.length)] as T;
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }
}

/**
 * A categorical distribution, precomputed so a draw is one float and a short scan.
 * Weights need not sum to 1.
 */
export class Weighted<T> {
  readonly #items: ReadonlyArray<T>;
  readonly #cumulative: Float64Array;

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    if (entries.length === 0) throw new Error('Weighted needs at least one entry');
    this.#items = entries.map(([item]) => item);
    this.#cumulative = new Float64Array(entries.length);
    let total = 0;
    entries.forEach(([, weight], i) => {
      if (!(weight >= 0)) throw new Error(`weight must be >= 0, got ${weight}`);
      total += weight;
      this.#cumulative[i] = total;
    });
    if (total <= 0) throw new Error('Weighted needs a positive total weight');
    for (let i = 0; i < this.#cumulative.length; i++) this.#cumulative[i]! /= total;
  }

  draw(random: Random): T {
    const u = random.float();
    const cumulative = this.#cumulative;
    for (let i = 0; i < cumulative.length; i++) {
      if (u < cumulative[i]!) return this.#items[i] as T;
    }
    // Rounding can leave the last bound a hair below 1.
    return this.#items[this.#items.length - 1] as T;
  }
}
