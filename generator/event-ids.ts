import type { Random } from './random.ts';

// Table lookups: toString(16) + padStart per group costs more than the rest of an event.
const nibbleHex = '0123456789abcdef';
const byteHex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex2 = (n: number): string => byteHex[n & 0xff] as string;
const hex3 = (n: number): string => (nibbleHex[(n >>> 8) & 0xf] as string) + hex2(n);
const hex4 = (n: number): string => hex2(n >>> 8) + hex2(n);
const hex8 = (n: number): string => hex4(n >>> 16) + hex4(n);

/**
 * Event ids shaped like UUIDv4 (what browser SDKs send), unique within a run by construction: the last
 * 48 bits are a counter XOR a per-run mask (a bijection), the rest is PRNG noise. Collisions across
 * runs with different seeds are as unlikely as for random UUIDs.
 */
export class EventIds {
  readonly #random: Random;
  readonly #maskHigh: number;
  readonly #maskLow: number;
  #count = 0;

  constructor(random: Random) {
    this.#random = random;
    this.#maskHigh = random.uint32() & 0xffff;
    this.#maskLow = random.uint32();
  }

  next(): string {
    const n = this.#count++;
    const high = (Math.floor(n / 0x1_0000_0000) ^ this.#maskHigh) & 0xffff;
    const low = ((n >>> 0) ^ this.#maskLow) >>> 0;
    const a = this.#random.uint32();
    const b = this.#random.uint32();
    // 8-4-4-4-12 with the version (4) and variant (8..b) nibbles of a v4 UUID.
    return `${hex8(a)}-${hex4(b >>> 16)}-4${hex3(b >>> 4)}-${nibbleHex[8 | (b & 3)] as string}${hex3((a >>> 20) ^ b)}-${hex4(high)}${hex8(low)}`;
  }
}
