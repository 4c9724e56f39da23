// Faults of different pages commute except where the kernel really orders them: N threads that
// each load their own page of one fresh BAR mapping race only on installing the PMD and PTE
// tables they share (__pmd_alloc()/__pte_alloc(): a lockless look, then a look under the lock).
// The MMU's walk and the fault path's leaf-only reads do not race with a new, empty table
// (docs/mm.md, "Page tables"), so the count grows polynomially in N. Before the region layout it
// was 66 / 2,796 / 108,136 for N = 2 / 3 / 4; before a direct reversal left lock sections that do
// not concern it where they were, 16 / 225 / 4,096 (src/sched/races.ts, directCut). The counts now
// equal the number of different combinations of thread paths (eager dpor takes 1,350 and 98,304
// executions for N = 3 and 4 to see the same 144 and 1,024). A model change that moves these counts
// should say why in docs/mm.md.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

function faults(n: number): string {
  const lines = [
    `name: ${n} faults`,
    'devices:',
    '  - name: gpu0',
    '    bars: [ { index: 0, size: 64K, phys: 0x3800000000 } ]',
    'setup:',
    '  - open: { device: gpu0, as: dev }',
    '  - mmap: { fd: dev, region: 0, offset: 0, length: 64K, as: m }',
    'threads:',
  ];
  for (let i = 1; i <= n; i++) lines.push(`  t${i}:`, `    - load: { map: m, offset: ${0x1000 * i} }`);
  return `${lines.join('\n')}\n`;
}

test('N threads faulting their own pages: 1, 16, 144, 1,024 executions for N = 1..4', () => {
  const got = [1, 2, 3, 4].map((n) => {
    const r = checkScenario(parseScenario(faults(n), `<faults-${n}>`));
    assert.equal(r.complete, true);
    assert.equal(r.verdict, 'pass');
    return r.executions;
  });
  assert.deepEqual(got, [1, 16, 144, 1024]);
});

test('N faulting threads against a memory disable: 4, 88, 1,824 executions for N = 1..3', () => {
  // The disable takes memory_lock for write while each fault holds it for read around its PTE
  // install, and flushes the TLB while each access holds its window: a writer's arrival commutes
  // with a reader's release (docs/explorer.md), and a conflict hidden behind a lazy lock order is
  // reversed directly (src/sched/races.ts), moving only what it needs: no other thread's lock
  // section that would end behind it (directCut), and not at all when the moved thread already
  // follows the section it would have to precede through data (that race is reversed on its own).
  // Each count is the number of different combinations of thread paths. Before: 5 / 128 / 3,780;
  // before that 12 / 1,005 / 140,556, from a lazy search that missed thread paths
  // (test/scenario/dpor-vs-exhaustive.test.ts); eager dpor took 5,824 for N = 2. N = 4: 32,064.
  const got = [1, 2, 3].map((n) => {
    const src = faults(n).replace(
      'threads:\n',
      'threads:\n  admin:\n    - command: { fd: dev, memory: false }\n',
    );
    assert.match(src, /command: \{ fd: dev, memory: false \}/);
    const r = checkScenario(parseScenario(src, `<faults-${n}-vs-disable>`));
    assert.equal(r.complete, true);
    assert.equal(r.verdict, 'pass');
    return r.executions;
  });
  assert.deepEqual(got, [4, 88, 1824]);
});

test('a fault against a memory disable on dmabuf-backed: 9 executions, one per combination of thread paths, not 70', () => {
  // The fault checks the buffer's revoke state under its reservation lock, and the disable sets it
  // under the lock. What the invariants read there is the revoked word itself (an object of its
  // own, written with an event), not the lock: a read-only section of the lock orders nothing for
  // them. When every acquisition of the lock counted as a write the invariants see, the fault's
  // section was explored on both sides of each of the disable's writes: 70 executions for the 9
  // combinations of thread paths. With the lock handled eagerly (its other sections touch plain
  // data) they took 10; now that only those sections are ordered (Mutex.plainData), 9.
  const src = faults(1).replace(
    'threads:\n',
    'threads:\n  admin:\n    - command: { fd: dev, memory: false }\n',
  );
  const r = checkScenario(parseScenario(src, '<fault-vs-disable-dmabuf>'), {
    design: designOf('dmabuf-backed'),
  });
  assert.equal(r.complete, true);
  assert.equal(r.verdict, 'pass');
  assert.equal(r.executions, 9);
});

test('two and three faults against a memory disable on dmabuf-backed: one execution per combination of thread paths', () => {
  // Each fault's check under the reservation lock is a read-only section (Mutex.lockReadOnly): two
  // faults' sections overlap instead of running in both orders. Taken exclusively, the lazy search
  // still ran many executions per combination — the sections came along when a later conflict
  // (a page-table allocation) was moved ahead: 2,315 executions for the 422 combinations of two
  // faults, and three faults (examples/faults-vs-disable.yaml) did not finish in 2.3 million.
  const run = (n: number, readOnlySections: boolean): number => {
    const src = faults(n)
      .replace('threads:\n', 'threads:\n  admin:\n    - command: { fd: dev, memory: false }\n')
      .concat(readOnlySections ? '' : 'check: { readOnlySections: false }\n');
    const r = checkScenario(parseScenario(src, `<faults-${n}-vs-disable-dmabuf>`), {
      design: designOf('dmabuf-backed'),
    });
    assert.equal(r.complete, true);
    assert.equal(r.verdict, 'pass');
    return r.executions;
  };
  assert.equal(run(2, true), 422);
  assert.equal(run(2, false), 2315);
});
