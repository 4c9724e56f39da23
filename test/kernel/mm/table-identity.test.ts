// A page table's identity code (pgtable.ts: Table.foldCode): pmd_alloc() and pte_alloc() are
// counted in their caller's state by the table they return (state folding, sched/loop.ts
// resultOnly), so "the same table" must read the same in every execution and differ between tables.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PMD_SIZE } from '../../../src/kernel/mm/arch.js';
import { PageTable, type Table } from '../../../src/kernel/mm/pgtable.js';
import { Execution } from '../../../src/sched/execution.js';
import type { Program, Thread } from '../../../src/sched/program.js';

/** The PMD table and the PTE tables at 0 and 2 MiB of a fresh page table of `mm`, as made by one thread. */
function tablesOf(mm: string): Table[] {
  const got: Table[] = [];
  const prog: Program<{ pt: PageTable }> = {
    setup: () => ({ pt: new PageTable(mm) }),
    threads: {
      t: function* (w): Thread<void> {
        const pmd = yield* w.pt.pmdAlloc(0);
        got.push(pmd!);
        got.push((yield* w.pt.pteAlloc(pmd!, 0))!);
        got.push((yield* w.pt.pteAlloc(pmd!, PMD_SIZE))!);
        // Found, not made: the same table as the first call returned.
        got.push((yield* w.pt.pteAlloc(pmd!, 0))!);
      },
    },
  };
  const ex = new Execution(prog, { clocks: false, lockdep: null, maxSteps: 1000, fold: true });
  ex.begin();
  while (ex.status[0] === 0) ex.step(0);
  return got;
}

test('a page table reads the same in every execution, and apart from every other table', () => {
  const first = tablesOf('mm.a').map((t) => t.foldCode);
  const again = tablesOf('mm.a').map((t) => t.foldCode);
  assert.deepEqual(again, first);
  const [pmd, pte0, pte1, pte0Found] = first;
  assert.equal(pte0Found, pte0);
  assert.equal(new Set([pmd, pte0, pte1]).size, 3, 'a PMD table and two PTE tables');
  const other = tablesOf('mm.b').map((t) => t.foldCode);
  for (let i = 0; i < 3; i++) assert.notEqual(other[i], first[i], `another mm's table ${i}`);
});
