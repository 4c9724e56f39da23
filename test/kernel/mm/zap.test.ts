// pfn insertion checks and unmap_mapping_range() coverage (mm/memory.c; docs/mm.md, "Zapping").

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { File, Inode } from '../../../src/kernel/fs/file.js';
import { PAGE_SIZE } from '../../../src/kernel/mm/arch.js';
import { vmfInsertPfnPmd } from '../../../src/kernel/mm/huge_memory.js';
import { cpuAccess, makeVmf, unmapMappingRange, vmfInsertPfn } from '../../../src/kernel/mm/memory.js';
import { VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, type Vma } from '../../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../../src/kernel/mm/mmap.js';
import { munmap } from '../../../src/kernel/mm/vma.js';
import { explore, type Thread } from '../../../src/sched/index.js';
import { runOnce } from '../helpers/run.js';
import { GiB, MiB, VA, type World, world } from './helpers/world.js';

const rel = (base: number) => (base - VA).toString(16);

describe('vmf_insert_pfn and friends', () => {
  test('an existing entry is left as it is, an address outside the VMA is SIGBUS', () => {
    const { result, state } = runOnce(
      () => world(),
      function* (w) {
        const vma = (yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA })) as Vma;
        const a = yield* vmfInsertPfn(vma, VA, 0x100);
        const b = yield* vmfInsertPfn(vma, VA, 0x200);
        const c = yield* vmfInsertPfn(vma, VA + 4 * MiB, 0x300);
        const d = yield* vmfInsertPfnPmd(makeVmf(vma, VA + 2 * MiB, false), 0x400, false);
        return [a, b, c, d];
      },
    );
    assert.deepEqual(result, [VM_FAULT_NOPAGE, VM_FAULT_NOPAGE, VM_FAULT_SIGBUS, VM_FAULT_NOPAGE]);
    assert.equal(state.mm.pt.lookup(VA)?.pfn, 0x100);
    assert.equal(state.mm.pt.lookup(VA + 2 * MiB)?.pfn, 0x400);
  });

  test('inserting into a VMA without VM_PFNMAP is a BUG', () => {
    const r = explore({
      setup: () => world(),
      threads: {
        main: function* (w) {
          const vma = (yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA })) as Vma;
          vma.flags = 0x3 | 0x8; // READ|WRITE|SHARED, no PFNMAP
          yield* vmfInsertPfn(vma, VA, 0x100);
        },
      },
    });
    assert.match(
      r.violations[0]?.message ?? '',
      /BUG: vmf_insert_pfn: the VMA must have exactly one of VM_PFNMAP and VM_MIXEDMAP/,
    );
  });
});

describe('unmap_mapping_range', () => {
  test('zaps only VMAs whose pgoff interval meets the range, over the intersection', () => {
    const { state } = runOnce(
      () => world({ thp: 'never' }),
      function* (w) {
        // Two VMAs of one file: pages 0-3 at VA, pages 16-19 at VA + 1 MiB.
        yield* doMmap(w.mm, { file: w.file, len: 4 * PAGE_SIZE, offset: 0, at: VA });
        yield* doMmap(w.mm, { file: w.file, len: 4 * PAGE_SIZE, offset: 16 * PAGE_SIZE, at: VA + MiB });
        for (let i = 0; i < 4; i++) {
          yield* cpuAccess(w.mm, VA + i * PAGE_SIZE, false, 'main');
          yield* cpuAccess(w.mm, VA + MiB + i * PAGE_SIZE, false, 'main');
        }
        // File pages 2..17: the last two pages of the first VMA and the first two of the second.
        yield* unmapMappingRange(w.file.mapping, 2 * PAGE_SIZE, 16 * PAGE_SIZE);
      },
    );
    assert.deepEqual(
      state.mm.pt.leafList().map((l) => rel(l.base)),
      ['0', '1000', '102000', '103000'],
    );
  });

  test('a zap touching part of a huge leaf removes the whole leaf', () => {
    const { state } = runOnce(
      () => world(),
      function* (w) {
        yield* doMmap(w.mm, { file: w.file, len: GiB, offset: 0, at: VA });
        yield* cpuAccess(w.mm, VA, false, 'main');
        yield* unmapMappingRange(w.file.mapping, 5 * PAGE_SIZE, PAGE_SIZE);
      },
    );
    assert.deepEqual(state.mm.pt.leafList(), []);
  });

  test('a VMA of another address_space is untouched', () => {
    const { state } = runOnce(
      () => {
        const w = world({ thp: 'never' });
        return { ...w, other: new File('other', new Inode('other'), w.file.fop) };
      },
      function* (w) {
        yield* doMmap(w.mm, { file: w.file, len: PAGE_SIZE, offset: 0, at: VA });
        yield* doMmap(w.mm, { file: w.other, len: PAGE_SIZE, offset: 0, at: VA + MiB });
        yield* cpuAccess(w.mm, VA, false, 'main');
        yield* cpuAccess(w.mm, VA + MiB, false, 'main');
        yield* unmapMappingRange(w.file.mapping, 0, 0);
      },
    );
    assert.deepEqual(
      state.mm.pt.leafList().map((l) => rel(l.base)),
      ['100000'],
    );
  });
});

describe('TLB flushes of a zap (tlb_finish_mmu)', () => {
  // Each flush is recorded with whether the mapping's PTE table was still hooked in at the time.
  function counted(w: World): string[] {
    const flushes: string[] = [];
    const tlb = w.mm.tlb;
    const down = tlb.downWrite.bind(tlb);
    tlb.downWrite = (subclass?: number) => {
      flushes.push(w.mm.pt.hasPteTable(VA) ? 'flush, table hooked' : 'flush, table freed');
      return down(subclass);
    };
    return flushes;
  }
  // Four pages of the file at VA; with `touch`, a load at that offset then faults one in.
  function* mapFour(w: World, touch?: number): Thread<void> {
    yield* doMmap(w.mm, { file: w.file, len: 4 * PAGE_SIZE, offset: 0, at: VA });
    if (touch !== undefined) yield* cpuAccess(w.mm, VA + touch, false, 'main');
  }

  test('a zap that finds nothing mapped sends no flush; one that clears entries sends one', () => {
    const { result } = runOnce(
      () => world({ thp: 'never' }),
      function* (w) {
        const flushes = counted(w);
        yield* mapFour(w);
        yield* unmapMappingRange(w.file.mapping, 0, 0);
        const untouched = flushes.length;
        yield* cpuAccess(w.mm, VA + PAGE_SIZE, false, 'main');
        yield* unmapMappingRange(w.file.mapping, 0, 0);
        const mapped = flushes.length - untouched;
        // The PTE table stays, empty: zapping it again clears nothing.
        yield* unmapMappingRange(w.file.mapping, 0, 0);
        return [untouched, mapped, flushes.length - untouched - mapped];
      },
    );
    assert.deepEqual(result, [0, 1, 0]);
  });

  test('munmap flushes once, after free_pgtables, when it cleared entries or freed a table', () => {
    const { result } = runOnce(
      () => world({ thp: 'never' }),
      function* (w) {
        const flushes = counted(w);
        // Mapped: the entries are cleared and the table freed, then one flush.
        yield* mapFour(w, 0);
        yield* munmap(w.mm, VA, 4 * PAGE_SIZE);
        const mapped = flushes.splice(0);
        // Emptied by a zap before: nothing to clear, but the freed table is flushed.
        yield* mapFour(w, 0);
        yield* unmapMappingRange(w.file.mapping, 0, 0);
        flushes.length = 0;
        yield* munmap(w.mm, VA, 4 * PAGE_SIZE);
        const emptied = flushes.splice(0);
        // Never touched: no table, no entry, no flush.
        yield* mapFour(w);
        yield* munmap(w.mm, VA, 4 * PAGE_SIZE);
        return { mapped, emptied, untouched: flushes };
      },
    );
    assert.deepEqual(result, {
      mapped: ['flush, table freed'],
      emptied: ['flush, table freed'],
      untouched: [],
    });
  });
});
