// The mmap path in kernel order (mm/vma.c: __mmap_region), munmap, fork and mremap.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dupMmap } from '../../../src/kernel/fork.js';
import { File, type FileOperations, fput, Inode } from '../../../src/kernel/fs/file.js';
import { PAGE_SIZE } from '../../../src/kernel/mm/arch.js';
import { cpuAccess } from '../../../src/kernel/mm/memory.js';
import {
  hasFlag,
  setFlags,
  VM_DONTEXPAND,
  VM_IO,
  VM_PFNMAP,
  type VmAreaDesc,
  type Vma,
} from '../../../src/kernel/mm/mm_types.js';
import { doMmap, ENODEV } from '../../../src/kernel/mm/mmap.js';
import { EFAULT, mremap } from '../../../src/kernel/mm/mremap.js';
import { vmaSetFile } from '../../../src/kernel/mm/util.js';
import { type MmapFailure, munmap } from '../../../src/kernel/mm/vma.js';
import type { Thread } from '../../../src/sched/index.js';
import { runOnce } from '../helpers/run.js';
import { pfnmapVmOps } from './helpers/pfnmap-driver.js';
import { GiB, MiB, VA, type World, world } from './helpers/world.js';

/** A driver whose mmap_prepare makes a new file (as a dma-buf would be) and installs it as vm_file. */
function preparingWorld(log: string[]) {
  const w = world({ thp: 'never' });
  const fops: FileOperations = {
    name: 'preparing_fops',
    *mmapPrepare(desc: VmAreaDesc): Thread<number> {
      const backing = new File('backing', new Inode('backing'), {
        name: 'backing_fops',
        *release() {
          log.push('backing released');
        },
      });
      desc.vmFile = backing; // hands over backing's only reference
      desc.flags = setFlags(desc.flags, VM_IO | VM_PFNMAP | VM_DONTEXPAND);
      desc.vmOps = {
        ...pfnmapVmOps({ basePfn: w.range.pfn, pages: w.range.pages }),
        *mapped(vma) {
          log.push(`mapped ${vma.file?.name}`);
          return 0;
        },
      };
      return 0;
    },
  };
  return { ...w, dev: new File('dev', new Inode('dev'), fops) };
}

describe('__mmap_region', () => {
  test("mmap_prepare may replace vm_file: the VMA is linked into the new file's address_space", () => {
    const log: string[] = [];
    const { state, result } = runOnce(
      () => preparingWorld(log),
      function* (w) {
        return (yield* doMmap(w.mm, { file: w.dev, len: 4 * PAGE_SIZE, offset: 0, at: VA })) as Vma;
      },
    );
    assert.equal(result.file?.name, 'backing');
    assert.deepEqual(result.file?.mapping.linked, [result]);
    assert.deepEqual(state.dev.mapping.linked, []);
    assert.equal(result.file?.count.value, 1, 'the handed-over reference, no extra get');
    assert.equal(state.dev.count.value, 1, 'the device file is untouched');
    assert.deepEqual(log, ['mapped backing']);
  });

  for (const step of ['prealloc', 'mapped'] as MmapFailure[]) {
    test(`a failure at ${step} after mmap_prepare releases the handed-over file exactly once`, () => {
      const log: string[] = [];
      const { state, result } = runOnce(
        () => preparingWorld(log),
        function* (w) {
          return yield* doMmap(w.mm, { file: w.dev, len: 4 * PAGE_SIZE, offset: 0, at: VA, inject: step });
        },
      );
      assert.equal(result, -12);
      assert.deepEqual(state.mm.vmas, []);
      assert.deepEqual(
        log.filter((l) => l === 'backing released'),
        ['backing released'],
      );
      assert.equal(state.dev.count.value, 1);
    });
  }

  test('a failure of mmap_prepare itself leaves nothing behind', () => {
    const log: string[] = [];
    const { state, result } = runOnce(
      () => preparingWorld(log),
      function* (w) {
        return yield* doMmap(w.mm, { file: w.dev, len: PAGE_SIZE, offset: 0, at: VA, inject: 'prepare' });
      },
    );
    assert.equal(result, -12);
    assert.deepEqual(state.mm.vmas, []);
    assert.deepEqual(log, []);
  });

  for (const step of ['prealloc', 'mmap'] as MmapFailure[]) {
    test(`legacy mmap: a failure at ${step} puts the file reference it took and links nothing`, () => {
      const { state, result } = runOnce(
        () => world(),
        function* (w) {
          return yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA, inject: step });
        },
      );
      assert.equal(result, -12);
      assert.deepEqual(state.mm.vmas, []);
      assert.deepEqual(state.file.mapping.linked, []);
      assert.equal(state.file.count.value, 1);
    });
  }

  test('a legacy mmap that sets vm_ops->mapped is refused (-EINVAL) and undone', () => {
    const { state, result } = runOnce(
      () => {
        const w = world();
        const base = w.file.fop.mmap!;
        w.file.fop.mmap = function* (f, vma) {
          const r = yield* base(f, vma);
          vma.ops = {
            ...vma.ops!,
            *mapped() {
              return 0;
            },
          };
          return r;
        };
        return w;
      },
      function* (w) {
        return yield* doMmap(w.mm, { file: w.file, len: 4 * MiB, offset: 0, at: VA });
      },
    );
    assert.equal(result, -22);
    assert.deepEqual(state.mm.vmas, []);
    assert.equal(state.file.count.value, 1);
  });

  test("legacy mmap calling vma_set_file(): the VMA lives in the final file's address_space", () => {
    const { state, result } = runOnce(
      () => {
        const w = world();
        const target = new File('target', new Inode('target'), w.file.fop);
        const swapping = new File('swapping', new Inode('swapping'), {
          name: 'swapping_fops',
          *mmap(_f, vma) {
            yield* vmaSetFile(vma, target);
            return yield* w.file.fop.mmap!(target, vma);
          },
        });
        return { ...w, target, swapping };
      },
      function* (w) {
        return (yield* doMmap(w.mm, { file: w.swapping, len: 4 * MiB, offset: 0, at: VA })) as Vma;
      },
    );
    assert.equal(result.file, state.target);
    assert.deepEqual(state.target.mapping.linked, [result]);
    assert.deepEqual(state.swapping.mapping.linked, []);
    assert.equal(state.target.count.value, 2);
    assert.equal(state.swapping.count.value, 1);
  });

  test('a file without mmap is ENODEV; MAP_PRIVATE is refused by the driver', () => {
    const { result } = runOnce(
      () => ({ ...world(), plain: new File('plain', new Inode('plain'), { name: 'plain' }) }),
      function* (w) {
        return [
          yield* doMmap(w.mm, { file: w.plain, len: PAGE_SIZE, offset: 0 }),
          yield* doMmap(w.mm, { file: w.file, len: PAGE_SIZE, offset: 0, shared: false }),
        ];
      },
    );
    assert.deepEqual(result, [ENODEV, -22]);
  });
});

function* mapped(w: World, len: number, at = VA): Thread<Vma> {
  return (yield* doMmap(w.mm, { file: w.file, len, offset: 0, at })) as Vma;
}

describe('munmap, fork, mremap', () => {
  test('munmap zaps, unlinks, calls close and puts the file; a partial munmap splits and opens', () => {
    const log: string[] = [];
    const { state } = runOnce(
      () => {
        const w = world({ thp: 'never' });
        const base = w.file.fop.mmap!;
        w.file.fop.mmap = function* (f, vma) {
          const r = yield* base(f, vma);
          vma.ops = {
            ...vma.ops!,
            *open(v) {
              log.push(`open ${(v.start - VA) / PAGE_SIZE}`);
            },
            *close(v) {
              log.push(`close ${(v.start - VA) / PAGE_SIZE}`);
            },
          };
          return r;
        };
        return w;
      },
      function* (w) {
        yield* mapped(w, 4 * PAGE_SIZE);
        for (let i = 0; i < 4; i++) yield* cpuAccess(w.mm, VA + i * PAGE_SIZE, false, 'main');
        yield* munmap(w.mm, VA + PAGE_SIZE, PAGE_SIZE); // split into [0,1) [1,2) [2,4), drop [1,2)
      },
    );
    assert.deepEqual(log, ['open 1', 'open 2', 'close 1']);
    assert.deepEqual(
      state.mm.vmas.map((v) => [(v.start - VA) / PAGE_SIZE, (v.end - VA) / PAGE_SIZE, v.pgoff]),
      [
        [0, 1, 0],
        [2, 4, 2],
      ],
    );
    assert.equal(state.file.count.value, 3, 'the fd plus two VMAs');
    assert.equal(state.file.mapping.linked.length, 2);
    assert.deepEqual(
      state.mm.pt.leafList().map((l) => (l.base - VA) / PAGE_SIZE),
      [0, 2, 3],
    );
  });

  test('the last fput runs release only when every VMA is gone', () => {
    const log: string[] = [];
    const { state } = runOnce(
      () => {
        const w = world();
        w.file.fop.release = function* () {
          log.push('release');
        };
        return w;
      },
      function* (w) {
        yield* mapped(w, 4 * MiB);
        yield* fput(w.file); // close(fd): the VMA still holds the file
        log.push('closed');
        yield* munmap(w.mm, VA, 4 * MiB);
      },
    );
    assert.deepEqual(log, ['closed', 'release']);
    assert.equal(state.file.released, true);
  });

  test('fork copies special leaves at every level, links the child VMA and opens it before the copy', () => {
    const { result } = runOnce(
      () => world(),
      function* (w) {
        yield* mapped(w, GiB); // PUD leaf
        yield* mapped(w, 4 * MiB, VA + GiB); // PMD leaves
        yield* mapped(w, 8 * PAGE_SIZE, VA + 2 * GiB + PAGE_SIZE); // PTEs
        for (const a of [VA, VA + GiB, VA + 2 * GiB + PAGE_SIZE]) yield* cpuAccess(w.mm, a, false, 'main');
        const child = yield* dupMmap(w.mm);
        return { w, child };
      },
    );
    const { w, child } = result;
    const show = (ls: readonly { level: string; base: number; pfn: number }[]) =>
      ls.map((l) => `${l.level}@${(l.base - VA).toString(16)}:${l.pfn.toString(16)}`);
    assert.deepEqual(show(child.pt.leafList()), show(w.mm.pt.leafList()));
    assert.equal(w.file.count.value, 7, 'fd + 3 parent VMAs + 3 child VMAs');
    assert.equal(w.file.mapping.linked.length, 6);
  });

  test('fork on x86_64-nospecial skips the unmarked PMD leaf (it refaults) but copies the PUD', () => {
    const { result } = runOnce(
      () => world({ arch: 'x86_64-nospecial' }),
      function* (w) {
        yield* mapped(w, GiB);
        yield* mapped(w, 4 * MiB, VA + GiB);
        yield* cpuAccess(w.mm, VA, false, 'main');
        yield* cpuAccess(w.mm, VA + GiB, false, 'main');
        const child = yield* dupMmap(w.mm);
        const show = (m: typeof child) => m.pt.leafList().map((l) => `${l.level}:${l.special}`);
        return { parent: show(w.mm), child: show(child) };
      },
    );
    assert.deepEqual(result, { parent: ['pud:false', 'pmd:false'], child: ['pud:false'] });
  });

  test("fork links the child VMA right after the parent's in i_mmap", () => {
    const { result } = runOnce(
      () => world(),
      function* (w) {
        yield* mapped(w, 4 * MiB);
        yield* mapped(w, 4 * MiB, VA + GiB);
        const child = yield* dupMmap(w.mm);
        return w.file.mapping.linked.map(
          (v) => `${v.mm === child ? 'child' : 'parent'}@${(v.start - VA).toString(16)}`,
        );
      },
    );
    assert.deepEqual(result, ['parent@0', 'child@0', 'parent@40000000', 'child@40000000']);
  });

  test('mremap cannot grow a VM_DONTEXPAND|VM_PFNMAP mapping; it can shrink one', () => {
    const { state, result } = runOnce(
      () => world(),
      function* (w) {
        const vma = yield* mapped(w, 4 * MiB);
        assert.ok(hasFlag(vma.flags, VM_DONTEXPAND));
        return [yield* mremap(w.mm, VA, 4 * MiB, 8 * MiB), yield* mremap(w.mm, VA, 4 * MiB, 2 * MiB)];
      },
    );
    assert.deepEqual(result, [EFAULT, 0]);
    assert.equal(state.mm.vmas[0]!.end - VA, 2 * MiB);
  });
});
