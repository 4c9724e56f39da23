// The vma_list era (v5.8, v5.13, v6.9): what each got wrong, found by the explorer on its own —
// a BUG, a lock-order inversion that deadlocks, a mapping no zap can find — and that the next
// generation fixed.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DESIGNS, type DesignName } from '../../src/designs/design.js';
import { watchSystem } from '../../src/invariants/system.js';
import type { Vma } from '../../src/kernel/mm/mm_types.js';
import { type Program, runAtomically } from '../../src/sched/index.js';
import { sysAccess, sysCommand, sysFork, sysMmap, sysOpen, sysRw } from '../../src/uapi/syscalls.js';
import { type Process, System } from '../../src/uapi/system.js';
import { exploreSystem, runOnce } from '../kernel/helpers/run.js';

const VA = 0x7f0000000000;
const PAGES = 4;
type S = System & { p: Process; fd: number; vma: Vma };

function world(design: DesignName): S {
  const s = new System({
    design: DESIGNS[design],
    devices: [{ name: 'gpu0', bars: [{ index: 0, size: PAGES * 4096, phys: 0x3800000000 }] }],
  }) as S;
  watchSystem(s);
  s.p = s.spawn('vmm');
  s.fd = runAtomically(sysOpen(s.p, 'gpu0'));
  s.vma = runAtomically(sysMmap(s.p, s.fd, { region: 0, offset: 0, length: PAGES * 4096, at: VA })) as Vma;
  return s;
}

// Explored as `vdm check` explores: the retry cycles of the vma_list faults end where they repeat,
// so these searches complete (with every object visible and no shared state to compare, the v5.8
// pread search below stopped at 20,000 executions, incomplete, in 10 s; like this, 236 in 0.3 s).
// Every search here is complete (exploreSystem checks): a clean result is a proof, not a sample.
const run = (design: DesignName, threads: Program<S>['threads']) =>
  exploreSystem(() => world(design), threads);
const kinds = (r: ReturnType<typeof run>) =>
  [...new Set(r.violations.map((v) => `${v.kind}:${v.id}`))].sort();
const leaves = (s: S) => s.p.mm.pt.leafList().length;

describe('the vma_list era', () => {
  test('a fault populates the whole VMA and lists it; memory off zaps it through the list', () => {
    const { result } = runOnce(
      () => world('v5.13'),
      function* (s) {
        const a = yield* sysAccess(s.p, VA, false, 'cpu');
        const populated = leaves(s);
        const listed = s.devices.get('gpu0')!.vmaList.length;
        yield* sysCommand(s.p, s.fd, false);
        return [
          a,
          populated,
          listed,
          leaves(s),
          s.devices.get('gpu0')!.vmaList.length,
          yield* sysAccess(s.p, VA, false, 'cpu'),
        ];
      },
    );
    assert.deepEqual(result, ['ok', PAGES, 1, 0, 0, 'sigbus']);
  });

  test('v5.8: two faults on one VMA both populate it — remap_pfn_range() BUG()s; v5.13 skips a populated VMA', () => {
    const threads: Program<S>['threads'] = {
      a: function* (s) {
        yield* sysAccess(s.p, VA, false, 'a');
      },
      b: function* (s) {
        yield* sysAccess(s.p, VA + 4096, false, 'b');
      },
    };
    const v58 = run('v5.8', threads);
    assert.ok(
      v58.violations.some(
        (v) => v.kind === 'error' && /remap_pfn_range\(\) over a present PTE/.test(v.message),
      ),
    );
    assert.deepEqual(kinds(run('v5.13', threads)), []);
  });

  test('v5.8 lists the VMA at every fault, listed or not: two faults can leave two entries; v5.13 one', () => {
    // __vfio_pci_add_vma() of v5.8 adds an entry without looking for one (list_add, at the head);
    // v5.13's fault looks at the list first. A third thread counts the VMA's entries under vma_lock.
    const entries = (design: DesignName): number[] => {
      const out = new Set<number>();
      exploreSystem(() => world(design), {
        a: function* (s) {
          yield* sysAccess(s.p, VA, false, 'a');
        },
        b: function* (s) {
          yield* sysAccess(s.p, VA + 4096, false, 'b');
        },
        count: function* (s) {
          const vdev = s.devices.get('gpu0')!;
          yield* vdev.vmaLock.lock();
          out.add(vdev.vmaList.filter((v) => v === s.vma).length);
          yield* vdev.vmaLock.unlock();
        },
      });
      return [...out].sort();
    };
    assert.deepEqual(entries('v5.8'), [0, 1, 2]);
    assert.deepEqual(entries('v5.13'), [0, 1]);
  });

  test('a fault that finds memory off drops vma_lock first on v5.8, memory_lock first on v5.13', () => {
    // vfio_pci_mmap_fault(): v5.8 unlocks vma_lock on its error path and then up_read()s at up_out;
    // v5.13 keeps vma_lock to the end. So only on v5.8 can another thread take vma_lock while the
    // SIGBUSing fault still holds memory_lock for read (a writer's trylock then fails).
    const seen = (design: DesignName): string[] => {
      const out = new Set<string>();
      const r = exploreSystem(
        () => {
          const s = world(design);
          runAtomically(sysCommand(s.p, s.fd, false));
          return s;
        },
        {
          fault: function* (s) {
            assert.equal(yield* sysAccess(s.p, VA, false, 'fault'), 'sigbus');
          },
          peek: function* (s) {
            const vdev = s.devices.get('gpu0')!;
            yield* vdev.vmaLock.lock();
            const free = yield* vdev.memoryLock.tryDownWrite();
            if (free) yield* vdev.memoryLock.upWrite();
            yield* vdev.vmaLock.unlock();
            out.add(free ? 'memory_lock free' : 'memory_lock held');
          },
        },
      );
      assert.deepEqual(kinds(r), []);
      return [...out].sort();
    };
    assert.deepEqual(seen('v5.8'), ['memory_lock free', 'memory_lock held']);
    assert.deepEqual(seen('v5.13'), ['memory_lock free']);
  });

  test("v5.8: pread into the device's own mapping vs memory off — memory_lock held across the copy inverts the lock order and deadlocks; v5.13 fixes it", () => {
    const threads: Program<S>['threads'] = {
      vmm: function* (s) {
        yield* sysRw(s.p, s.fd, { region: 0, offset: 0, length: 8, write: false, buffer: VA }, 'vmm');
      },
      admin: function* (s) {
        yield* sysCommand(s.p, s.fd, false);
      },
    };
    const v58 = kinds(run('v5.8', threads));
    assert.ok(v58.includes('deadlock:DEADLOCK'), v58.join(', '));
    assert.ok(v58.includes('lock-order:LOCK_ORDER'), v58.join(', '));
    assert.deepEqual(kinds(run('v5.13', threads)), []);
  });

  test('v6.9: fork opens the child VMA before copying the page tables — the child keeps PTEs no zap can find', () => {
    const threads: Program<S>['threads'] = {
      vmm: function* (s) {
        yield* sysAccess(s.p, VA, false, 'vmm');
        yield* sysFork(s.p, 'child');
        yield* sysCommand(s.p, s.fd, false);
      },
    };
    const v69 = kinds(run('v6.9', threads));
    assert.ok(v69.includes('invariant:ZAP_COVERAGE'), v69.join(', '));
    assert.deepEqual(kinds(run('v5.13', threads)), []);
    assert.deepEqual(kinds(run('v6.10', threads)), []);
  });
});

describe('v5.7: before CVE-2020-12888', () => {
  test('mmap populates eagerly; a disable zaps nothing, so the next access reaches a BAR that does not decode', () => {
    const r = run('v5.7', {
      vmm: function* (s) {
        assert.equal(leaves(s), PAGES, 'populated at mmap');
        yield* sysCommand(s.p, s.fd, false);
        yield* sysAccess(s.p, VA, false, 'vmm');
      },
    });
    const got = kinds(r);
    assert.ok(got.includes('invariant:MMIO_WHILE_DISABLED'), got.join(', '));
    assert.ok(got.includes('invariant:MAPPING_AFTER_REVOKE'), got.join(', '));
  });

  test('read through the fd does not check decode (v5.8 returns -EIO)', () => {
    const threads: Program<S>['threads'] = {
      vmm: function* (s) {
        yield* sysCommand(s.p, s.fd, false);
        yield* sysRw(s.p, s.fd, { region: 0, offset: 0, length: 8, write: false }, 'vmm');
      },
    };
    assert.ok(kinds(run('v5.7', threads)).includes('invariant:MMIO_WHILE_DISABLED'));
    assert.deepEqual(kinds(run('v5.8', threads)), []);
  });
});
