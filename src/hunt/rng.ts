// The hunter's seeded randomness (pure-rand's xoroshiro128+, as the random and pct strategies use):
// one seed gives one sequence of programs, so a hunt on one worker is reproducible.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export class Rng {
  private readonly g: ReturnType<typeof xoroshiro128plus>;
  constructor(seed: number) {
    this.g = xoroshiro128plus(seed | 0);
  }
  /** A whole number in [lo, hi]. */
  int(lo: number, hi: number): number {
    return uniformInt(this.g, lo, hi);
  }
  /** True with probability p (in hundredths). */
  chance(p: number): boolean {
    return this.int(0, 99) < Math.round(p * 100);
  }
  pick<T>(a: readonly T[]): T {
    if (a.length === 0) throw new RangeError('pick from an empty list');
    return a[this.int(0, a.length - 1)]!;
  }
  /** An index drawn by weight. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((s, w) => s + w, 0);
    let r = this.int(0, Math.max(0, total - 1));
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i]!;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }
}
