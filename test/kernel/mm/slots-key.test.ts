// What a read of some page-table slots saw, as the retry-cycle check compares it
// (pgtable.ts: PtRegion.slotsKey): exact for every slot read, where a trace's text
// (PtRegion.traceSlots) names only the first entry of a range.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PageTable, PMD_SPAN, type PtRegion } from '../../../src/kernel/mm/pgtable.js';
import { Execution } from '../../../src/sched/execution.js';
import type { Program, Thread } from '../../../src/sched/program.js';

interface W {
  pt: PageTable;
}

/** Slot of PTE k under PMD entry j of region 0 (the region's layout, pgtable.ts). */
const pteSlot = (j: number, k: number): number => 2 + j * PMD_SPAN + 2 + k;

test('slotsKey tells apart every entry a read covers, and only what a leaf-slot read learns', () => {
  const prog: Program<W> = {
    setup: () => ({ pt: new PageTable('mm') }),
    threads: {
      t: function* (w: W): Thread<void> {
        const pmd = yield* w.pt.pmdAlloc(0);
        const pte = yield* w.pt.pteAlloc(pmd!, 0);
        yield* pte!.setLeaves(1, 3, 0x1000, true, false);
        yield* pte!.clear(2, 3);
        yield* pte!.setLeaves(2, 3, 0x1001, true, false);
      },
    },
  };
  const ex = new Execution(prog, { clocks: false, lockdep: null, maxSteps: 1000 });
  ex.begin();
  const region = (): PtRegion => ex.state.pt.region(0).value;
  const at = (lo: number, hi: number) => region().slotsKey(lo, hi);
  const runTo = (done: () => boolean): void => {
    while (!done()) ex.step(0);
  };

  // Nothing mapped: the PUD entry, the PMD entry and the PTEs read as empty.
  assert.equal(at(0, 2), 0);
  assert.equal(at(2, 4), 0);
  assert.equal(at(pteSlot(0, 1), pteSlot(0, 2)), 0);

  runTo(() => at(2, 4) === 1);
  // A table under the PUD and the PMD entry; neither is a huge leaf (what readIsLeaf learns).
  assert.equal(at(0, 2), 1);
  assert.equal(at(3, 4), 0);
  assert.equal(at(1, 2), 0);

  const range = [pteSlot(0, 0), pteSlot(0, 4)] as const;
  const emptyRange = at(...range);
  runTo(() => at(pteSlot(0, 2), pteSlot(0, 3)) !== 0);
  const one = at(pteSlot(0, 1), pteSlot(0, 2));
  const two = at(pteSlot(0, 2), pteSlot(0, 3));
  assert.equal(typeof one, 'number');
  assert.notEqual(one, two, 'leaves of different pfns');
  const mapped = at(...range);
  assert.notEqual(mapped, emptyRange);

  // PTE 2 cleared: the range differs in its third entry only. The trace's text of the range names
  // its first entry, so it reads the same; the key does not.
  const textBefore = region().traceSlots(...range);
  runTo(() => at(pteSlot(0, 2), pteSlot(0, 3)) === 0);
  assert.equal(region().traceSlots(...range), textBefore);
  assert.notEqual(at(...range), mapped);
  assert.equal(at(pteSlot(0, 1), pteSlot(0, 2)), one);

  // Mapped again as before: the same key as before (what was read, not which write made it).
  runTo(() => at(pteSlot(0, 2), pteSlot(0, 3)) !== 0);
  assert.equal(at(pteSlot(0, 2), pteSlot(0, 3)), two);
  assert.equal(at(...range), mapped);
});
