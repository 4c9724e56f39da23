// The explorer on the mm model: races that must stay safe under every interleaving.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dupMmap } from '../../../src/kernel/fork.js';
import { PAGE_SIZE } from '../../../src/kernel/mm/arch.js';
import { getUserPagesFast } from '../../../src/kernel/mm/gup.js';
import { cpuAccess, unmapMappingRange } from '../../../src/kernel/mm/memory.js';
import type { Mm } from '../../../src/kernel/mm/mm.js';
import { doMmap } from '../../../src/kernel/mm/mmap.js';
import { munmap } from '../../../src/kernel/mm/vma.js';
import { runAtomically } from '../../../src/sched/index.js';
import { finals } from '../helpers/run.js';
import { MiB, VA, type World, world } from './helpers/world.js';

type S = World & { out: string[]; child?: Mm };
/** A world, optionally with the file already mapped at VA (and its first page touched) in setup. */
const setup =
  (o: Parameters<typeof world>[0] = {}, mapped?: { len: number; touch?: boolean }) =>
  (): S => {
    const s: S = { ...world(o), out: [] };
    if (mapped) {
      runAtomically(doMmap(s.mm, { file: s.file, len: mapped.len, offset: 0, at: VA }));
      if (mapped.touch) runAtomically(cpuAccess(s.mm, VA, false, 'setup'));
    }
    return s;
  };
const leaves = (mm: Mm) =>
  mm.pt
    .leafList()
    .map((l) => `${l.level}@${(l.base - VA).toString(16)}`)
    .join(',') || 'none';

describe('races on the mm model', () => {
  test('fault vs zap: the fault either lands before the zap (and is zapped) or after it', () => {
    const { run, states } = finals<S>(
      {
        setup: setup({ thp: 'never' }, { len: 4 * PAGE_SIZE }),
        threads: {
          cpu: function* (s) {
            s.out[0] = yield* cpuAccess(s.mm, VA, false, 'cpu');
          },
          zap: function* (s) {
            yield* unmapMappingRange(s.file.mapping, 0, 0);
          },
        },
      },
      (s) => `${s.out[0]} ${leaves(s.mm)}`,
    );
    assert.deepEqual(run.violations, []);
    assert.equal(run.complete, true);
    assert.deepEqual([...states].sort(), ['ok none', 'ok pte@0']);
  });

  test('two faults on one huge block: one PMD leaf, both accesses succeed', () => {
    const { run, states } = finals<S>(
      {
        setup: setup({}, { len: 4 * MiB }),
        threads: {
          a: function* (s) {
            s.out[0] = yield* cpuAccess(s.mm, VA, false, 'a');
          },
          b: function* (s) {
            s.out[1] = yield* cpuAccess(s.mm, VA + 5 * PAGE_SIZE, true, 'b');
          },
        },
      },
      (s) => `${s.out.join(',')} ${leaves(s.mm)}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states], ['ok,ok pmd@0']);
    assert.ok(run.executions > 1);
  });

  test('gup-fast vs zap (x86_64-nospecial): a reference is taken before the zap or not at all', () => {
    const { run, states } = finals<S>(
      {
        setup: setup({ arch: 'x86_64-nospecial', kind: 'mmio-pages' }, { len: 4 * MiB, touch: true }),
        threads: {
          gup: function* (s) {
            const g = yield* getUserPagesFast(s.mm, VA, 1, { p2pdma: true });
            s.out[0] = `fast=${g.fast} err=${g.err}`;
          },
          zap: function* (s) {
            yield* unmapMappingRange(s.file.mapping, 0, 0);
          },
        },
      },
      (s) => `${s.out[0]} refs=${s.machine.phys.countsOf(s.range.pfn).refs} ${leaves(s.mm)}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), ['fast=0 err=-14 refs=0 none', 'fast=1 err=0 refs=1 none']);
  });

  test('mmap vs zap: the zap waits for or misses the VMA being linked; nothing is left half done', () => {
    const { run, states } = finals<S>(
      {
        setup: setup({ thp: 'never' }),
        threads: {
          map: function* (s) {
            yield* doMmap(s.mm, { file: s.file, len: 4 * PAGE_SIZE, offset: 0, at: VA });
            s.out[0] = yield* cpuAccess(s.mm, VA, false, 'map');
          },
          zap: function* (s) {
            yield* unmapMappingRange(s.file.mapping, 0, 0);
          },
        },
      },
      (s) => `${s.out[0]} linked=${s.file.mapping.linked.length} refs=${s.file.count.value} ${leaves(s.mm)}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), ['ok linked=1 refs=2 none', 'ok linked=1 refs=2 pte@0']);
  });

  test('fault vs munmap: the access succeeds before the unmap or faults with SIGSEGV after it', () => {
    const { run, states } = finals<S>(
      {
        setup: setup({ thp: 'never' }, { len: 4 * PAGE_SIZE }),
        threads: {
          cpu: function* (s) {
            s.out[0] = yield* cpuAccess(s.mm, VA, false, 'cpu');
          },
          unmap: function* (s) {
            yield* munmap(s.mm, VA, 4 * PAGE_SIZE);
          },
        },
      },
      (s) => `${s.out[0]} ${leaves(s.mm)} vmas=${s.mm.vmas.length} refs=${s.file.count.value}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), ['ok none vmas=0 refs=1', 'sigsegv none vmas=0 refs=1']);
  });

  test('fork vs zap: once both are done, neither parent nor child maps the zapped range', () => {
    const { run, states } = finals<S>(
      {
        setup: setup({ thp: 'never' }, { len: 4 * PAGE_SIZE, touch: true }),
        threads: {
          fork: function* (s) {
            s.child = yield* dupMmap(s.mm);
          },
          zap: function* (s) {
            yield* unmapMappingRange(s.file.mapping, 0, 0);
          },
        },
      },
      (s) => `parent=${leaves(s.mm)} child=${leaves(s.child!)} refs=${s.file.count.value}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states], ['parent=none child=none refs=3']);
  });
  test('two zaps of one huge PMD leaf: the one that finds it gone under the lock sends no flush', () => {
    // Each zap reads the PMD entry without the lock, then clears under it (zap_huge_pmd rechecks
    // there). Whatever the order, the leaf is removed once, so exactly one flush is sent.
    const { run, states } = finals<S & { flushes: number }>(
      {
        setup: () => {
          const s = { ...setup({}, { len: 4 * MiB, touch: true })(), flushes: 0 };
          const tlb = s.mm.tlb;
          const down = tlb.downWrite.bind(tlb);
          tlb.downWrite = (subclass?: number) => {
            s.flushes++;
            return down(subclass);
          };
          return s;
        },
        threads: {
          a: function* (s) {
            yield* unmapMappingRange(s.file.mapping, 0, 0);
          },
          b: function* (s) {
            yield* unmapMappingRange(s.file.mapping, 0, 0);
          },
        },
      },
      (s) => `${s.flushes} ${leaves(s.mm)}`,
    );
    assert.deepEqual(run.violations, []);
    assert.equal(run.complete, true);
    assert.deepEqual([...states], ['1 none']);
  });
});
