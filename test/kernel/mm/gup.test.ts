// GUP (mm/gup.c; docs/mm.md, "GUP"): the slow path refuses pfnmaps; the fast path trusts the special bit. On
// x86_64-nospecial a huge pfnmap leaf over struct pages lets gup-fast take references that slow GUP
// would refuse — the hazard of the seed thread.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ArchName } from '../../../src/kernel/mm/arch.js';
import { PAGE_SIZE } from '../../../src/kernel/mm/arch.js';
import { EFAULT, getUserPages, getUserPagesFast, putPages } from '../../../src/kernel/mm/gup.js';
import { cpuAccess, unmapMappingRange } from '../../../src/kernel/mm/memory.js';
import { doMmap } from '../../../src/kernel/mm/mmap.js';
import type { PhysKind } from '../../../src/kernel/mm/phys.js';
import { explore } from '../../../src/sched/index.js';
import { runOnce } from '../helpers/run.js';
import { MiB, VA, world } from './helpers/world.js';

function fastAndSlow(arch: ArchName, kind: PhysKind, o: { p2pdma?: boolean; level?: 'pmd' | 'pte' } = {}) {
  return runOnce(
    () => world({ arch, kind, ...(o.level === 'pte' ? { thp: 'never' as const } : {}) }),
    function* (w) {
      yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA });
      yield* cpuAccess(w.mm, VA, false, 'main');
      const fast = yield* getUserPagesFast(w.mm, VA, 2, { p2pdma: o.p2pdma ?? true });
      const slow = yield* getUserPages(w.mm, VA, 2, { p2pdma: o.p2pdma ?? true });
      return { fast, slow, refs: w.machine.phys.countsOf(w.range.pfn).refs };
    },
  );
}

describe('GUP on pfnmap mappings', () => {
  test('slow GUP and pin always fail on VM_IO|VM_PFNMAP, whatever the page table holds', () => {
    const { result } = fastAndSlow('x86_64', 'mmio-pages');
    assert.equal(result.slow.err, EFAULT);
    assert.deepEqual(result.slow.pfns, []);
  });

  for (const arch of ['x86_64', 'arm64'] as ArchName[]) {
    test(`${arch}: gup-fast stops at the special PMD leaf and falls back: fast and slow agree`, () => {
      const { result } = fastAndSlow(arch, 'mmio-pages');
      assert.equal(result.fast.fast, 0);
      assert.equal(result.fast.err, EFAULT);
      assert.deepEqual(result.fast.pfns, []);
      assert.equal(result.refs, 0);
    });
  }

  test('x86_64-nospecial, struct pages: gup-fast takes references that slow GUP refuses', () => {
    const { result } = fastAndSlow('x86_64-nospecial', 'mmio-pages');
    assert.equal(result.fast.fast, 2);
    assert.equal(result.fast.err, 0);
    assert.equal(result.slow.err, EFAULT);
    assert.equal(result.refs, 1);
  });

  test('x86_64-nospecial, PTE leaves are still special: fast and slow agree', () => {
    const { result } = fastAndSlow('x86_64-nospecial', 'mmio-pages', { level: 'pte' });
    assert.equal(result.fast.fast, 0);
    assert.equal(result.fast.err, EFAULT);
  });

  test('P2PDMA pages only for callers that pass FOLL_PCI_P2PDMA', () => {
    const { result } = fastAndSlow('x86_64-nospecial', 'mmio-pages', { p2pdma: false });
    assert.equal(result.fast.fast, 0);
    assert.equal(result.fast.err, EFAULT);
  });

  test('x86_64-nospecial, no struct pages: gup-fast corrupts memory (GUP_CONSISTENCY)', () => {
    const r = explore({
      setup: () => world({ arch: 'x86_64-nospecial', kind: 'mmio' }),
      threads: {
        main: function* (w) {
          yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA });
          yield* cpuAccess(w.mm, VA, false, 'main');
          yield* getUserPagesFast(w.mm, VA, 1, {});
        },
      },
    });
    assert.equal(r.violations[0]?.id, 'GUP_CONSISTENCY');
    assert.match(r.violations[0]?.message ?? '', /no struct page: memory corruption/);
  });

  test('references taken by gup-fast outlive a zap, until they are put', () => {
    const { result } = runOnce(
      () => world({ arch: 'x86_64-nospecial', kind: 'mmio-pages' }),
      function* (w) {
        yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA });
        yield* cpuAccess(w.mm, VA, false, 'main');
        const g = yield* getUserPagesFast(w.mm, VA, 1, { pin: true, longterm: true, p2pdma: true });
        yield* unmapMappingRange(w.file.mapping, 0, 0);
        const afterZap = { leaves: w.mm.pt.leafList().length, ...w.machine.phys.countsOf(w.range.pfn) };
        yield* putPages(w.mm, g.pfns, { pin: true, longterm: true });
        return { afterZap, afterPut: w.machine.phys.countsOf(w.range.pfn) };
      },
    );
    assert.deepEqual(result.afterZap, { leaves: 0, refs: 0, pins: 1, longterm: 1 });
    assert.deepEqual(result.afterPut, { refs: 0, pins: 0, longterm: 0 });
  });

  test('RAM behind a special pfnmap PTE: both paths refuse it', () => {
    const { result } = runOnce(
      () => world({ arch: 'x86_64', kind: 'ram' }),
      function* (w) {
        yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA });
        yield* cpuAccess(w.mm, VA + PAGE_SIZE, false, 'main');
        return yield* getUserPagesFast(w.mm, VA + PAGE_SIZE, 1, {});
      },
    );
    assert.equal(result.err, EFAULT);
  });
});
