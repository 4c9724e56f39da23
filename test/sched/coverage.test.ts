// Coverage (src/sched/execution.ts): the slots a walk back over an object's writes has covered.
// The clock computation and the race finder stop walking as soon as it says the range is covered,
// so a wrong answer would drop happens-before edges or races.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Coverage } from '../../src/sched/execution.js';

test('Coverage says "covered" exactly when the added intervals cover the range', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 34 }), fc.integer({ min: 0, max: 12 })), { maxLength: 12 }),
      (lo, width, adds) => {
        const hi = lo + width;
        const c = new Coverage();
        c.reset(lo, hi);
        const seen = new Set<number>();
        for (const [a, len] of adds) {
          for (let s = a; s < a + len; s++) if (s >= lo && s < hi) seen.add(s);
          const covered = c.add(a, a + len);
          assert.equal(covered, seen.size === width, `after [${a}, ${a + len}) on [${lo}, ${hi})`);
          if (covered) break;
        }
      },
    ),
    { seed: 7, numRuns: 2000 },
  );
});
