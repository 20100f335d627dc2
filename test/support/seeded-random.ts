/** A seeded linear congruential generator for tests: the same sequence on every run, so a failure replays exactly. */
export interface SeededRandom {
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, n). */
  int(n: number): number;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed;
  const step = (): number => {
    // Modulo 2^31 needs only the product's low 31 bits, which Math.imul keeps exactly (a plain
    // product passes 2^53 and loses them: the sequence would repeat early).
    state = (Math.imul(state, 1_103_515_245) + 12_345) & 0x7fffffff;
    return state;
  };
  return { float: () => step() / 2_147_483_648, int: (n) => step() % n };
}
