import { describe, expect, it } from 'vitest';
import { seededRandom } from '../test/support/seeded-random.ts';
import { NONE, RankOrder } from './session-store.ts';

describe('RankOrder', () => {
  it('lists slots in the order they were last ranked, without removed ones, across growth and squeezing', () => {
    const order = new RankOrder();
    const reference: number[] = [];
    const random = seededRandom(9);
    const rand = (n: number): number => random.int(n);
    const listed = (): number[] => {
      const slots: number[] = [];
      for (let j = 0; j < order.length; j++) if (order.entry(j) !== NONE) slots.push(order.entry(j));
      return slots;
    };
    for (let step = 0; step < 40_000; step++) {
      const slot = rand(3_000);
      const i = reference.indexOf(slot);
      if (i >= 0) reference.splice(i, 1);
      if (rand(4) === 0) order.remove(slot);
      else {
        order.append(slot);
        reference.push(slot);
      }
      if (step % 4_001 === 0) expect(listed()).toEqual(reference);
    }
    expect(listed()).toEqual(reference);
    // Blanks are squeezed out rather than growing the list without bound.
    expect(order.length).toBeLessThanOrEqual(4 * 3_000);
  });
});
