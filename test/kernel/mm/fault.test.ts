// Faults: which level a fault fills (PUD, then PMD, then PTE on FALLBACK), under the arch profile
// and the THP policy, and what stays small (docs/mm.md, "Faults").

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PAGE_SIZE, PMD_SIZE } from '../../../src/kernel/mm/arch.js';
import { madviseHugepage } from '../../../src/kernel/mm/khugepaged.js';
import { cpuAccess, unmapMappingRange } from '../../../src/kernel/mm/memory.js';
import type { Vma } from '../../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../../src/kernel/mm/mmap.js';
import { munmap } from '../../../src/kernel/mm/vma.js';
import { runOnce } from '../helpers/run.js';
import { GiB, MiB, VA, type World, type WorldOptions, world } from './helpers/world.js';

function* mapAndTouch(w: World, o: { at?: number; len?: number; offset?: number; touch: number[] }) {
  const vma = (yield* doMmap(w.mm, {
    file: w.file,
    len: o.len ?? GiB,
    offset: o.offset ?? 0,
    at: o.at ?? VA,
  })) as Vma;
  assert.equal(typeof vma, 'object', `mmap failed: ${String(vma)}`);
  const outcomes: string[] = [];
  for (const off of o.touch) outcomes.push(yield* cpuAccess(w.mm, vma.start + off, false, 'main'));
  return { vma, outcomes };
}

function levels(wo: WorldOptions, o: { at?: number; len?: number; offset?: number; touch: number[] }) {
  const { state, result } = runOnce(
    () => world(wo),
    (w) => mapAndTouch(w, o),
  );
  return {
    w: state,
    ...result,
    leaves: state.mm.pt.leafList().map((l) => `${l.level}@${(l.base - VA).toString(16)}`),
  };
}

describe('fault order dispatch', () => {
  test('x86_64, aligned: one fault fills a whole 1 GiB PUD leaf', () => {
    const r = levels({}, { touch: [0x1234, 512 * MiB] });
    assert.deepEqual(r.outcomes, ['ok', 'ok']);
    assert.deepEqual(r.leaves, ['pud@0']);
    assert.deepEqual(r.w.log, ['insert 18 0x7f0000000000']);
    assert.equal(r.w.mm.pt.lookup(VA)?.special, true);
  });

  test('arm64 has no PUD pfnmaps: a PMD leaf per 2 MiB', () => {
    const r = levels({ arch: 'arm64' }, { touch: [0, 2 * MiB + 5] });
    assert.deepEqual(r.leaves, ['pmd@0', 'pmd@200000']);
  });

  test('a VA not aligned to the block falls back to PTEs', () => {
    const r = levels({}, { at: VA + PAGE_SIZE, len: 4 * MiB, touch: [0] });
    assert.deepEqual(r.leaves, ['pte@1000']);
    assert.deepEqual(r.w.log, ['fallback 18', 'fallback 9', 'insert 0 0x7f0000001000']);
  });

  test('a pfn not aligned to the block falls back too (PMD-aligned VA, 4 KiB-offset file)', () => {
    const r = levels({}, { len: 4 * MiB, offset: PAGE_SIZE, touch: [0] });
    assert.deepEqual(r.leaves, ['pte@0']);
  });

  test('a VMA smaller than a PUD gets PMD leaves', () => {
    const r = levels({}, { len: 4 * MiB, touch: [0, 3 * MiB] });
    assert.deepEqual(r.leaves, ['pmd@0', 'pmd@200000']);
  });

  test('THP never: PTEs only; madvise: PTEs unless MADV_HUGEPAGE', () => {
    assert.deepEqual(levels({ thp: 'never' }, { touch: [0] }).leaves, ['pte@0']);
    assert.deepEqual(levels({ thp: 'madvise' }, { touch: [0] }).leaves, ['pte@0']);
    const { state } = runOnce(
      () => world({ thp: 'madvise' }),
      function* (w) {
        const vma = (yield* doMmap(w.mm, { file: w.file, len: GiB, offset: 0, at: VA })) as Vma;
        assert.equal(yield* madviseHugepage(w.mm, VA, GiB, 'hugepage'), 0);
        return yield* cpuAccess(w.mm, vma.start, false, 'main');
      },
    );
    assert.deepEqual(
      state.mm.pt.leafList().map((l) => l.level),
      ['pud'],
    );
  });

  test('MADV_NOHUGEPAGE (VM_NOHUGEPAGE) keeps a VMA small under THP always', () => {
    const { state } = runOnce(
      () => world(),
      function* (w) {
        yield* doMmap(w.mm, { file: w.file, len: GiB, offset: 0, at: VA });
        yield* madviseHugepage(w.mm, VA, GiB, 'nohugepage');
        return yield* cpuAccess(w.mm, VA, false, 'main');
      },
    );
    assert.deepEqual(
      state.mm.pt.leafList().map((l) => l.level),
      ['pte'],
    );
  });

  test('a range once filled with small entries stays small after a zap, until munmap', () => {
    const { state, result } = runOnce(
      () => world({ thp: 'madvise' }),
      function* (w) {
        const seen: string[] = [];
        const show = () =>
          w.mm.pt
            .leafList()
            .map((l) => `${l.level}@${(l.base - VA).toString(16)}`)
            .join(',');
        yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA });
        yield* cpuAccess(w.mm, VA, false, 'main'); // PTE: no MADV_HUGEPAGE yet
        yield* madviseHugepage(w.mm, VA, 4 * MiB, 'hugepage');
        yield* cpuAccess(w.mm, VA + PAGE_SIZE, false, 'main'); // same 2 MiB: the PTE table is there
        yield* cpuAccess(w.mm, VA + PMD_SIZE, false, 'main'); // next 2 MiB: huge
        seen.push(show());
        yield* unmapMappingRange(w.file.mapping, 0, 0); // zap everything; tables stay
        yield* cpuAccess(w.mm, VA, false, 'main');
        seen.push(show());
        yield* munmap(w.mm, VA, 4 * MiB); // frees the tables
        yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA });
        yield* madviseHugepage(w.mm, VA, 4 * MiB, 'hugepage');
        yield* cpuAccess(w.mm, VA, false, 'main');
        seen.push(show());
        return seen;
      },
    );
    assert.deepEqual(result, ['pte@0,pte@1000,pmd@200000', 'pte@0', 'pmd@0']);
    assert.equal(state.mm.vmas.length, 1);
  });

  test('an access outside any VMA is SIGSEGV; a write to a read-only mapping too', () => {
    const { result } = runOnce(
      () => world(),
      function* (w) {
        const out = [yield* cpuAccess(w.mm, VA, false, 'main')];
        yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA, write: false });
        out.push(yield* cpuAccess(w.mm, VA, true, 'main'));
        out.push(yield* cpuAccess(w.mm, VA, false, 'main'));
        return out;
      },
    );
    assert.deepEqual(result, ['sigsegv', 'sigsegv', 'ok']);
  });

  test('every access is reported to the machine with the pfn it reached', () => {
    const r = levels({}, { touch: [3 * PAGE_SIZE] });
    assert.deepEqual(
      r.w.machine.accesses.map((a) => [a.by, a.pfn]),
      [['cpu', 0x3800000000 / PAGE_SIZE + 3]],
    );
  });
});
