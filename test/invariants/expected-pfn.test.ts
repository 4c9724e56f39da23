// TRANSLATION and HUGE_LEAF computed from the VMA alone (src/invariants/expected-pfn.ts): the
// documented arithmetic against hand-computed values, the proposal as posted (region-encoded
// vm_pgoff under a dma-buf vm_file), a huge leaf across two ranges, and a buffer whose device is
// gone (cleanup) still checked.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DesignName, designOf } from '../../src/designs/design.js';
import { expectedPfn, type MappingOf, oneRangeHolds } from '../../src/invariants/expected-pfn.js';
import { checkSystem, watchSystem } from '../../src/invariants/system.js';
import { vmfInsertPfnPmd } from '../../src/kernel/mm/huge_memory.js';
import { makeVmf, vmfInsertPfn } from '../../src/kernel/mm/memory.js';
import type { Vma } from '../../src/kernel/mm/mm_types.js';
import type { VfioPciCoreDevice } from '../../src/kernel/vfio/pci/core.js';
import type { VfioPciDmaBuf } from '../../src/kernel/vfio/pci/dmabuf.js';
import { explore, type Program, runAtomically } from '../../src/sched/index.js';
import { sysAccess, sysClose, sysExport, sysMmap, sysOpen } from '../../src/uapi/syscalls.js';
import { type Process, System } from '../../src/uapi/system.js';

const KiB = 1024;
const MiB = 2 ** 20;
const VA = 0x7f0000000000;
const BAR0 = 0x3800000000;
const BAR1 = 0x3900000000;
type S = System & { p: Process; fd: number; vma?: Vma; buf?: number };

const vmaAt = (start: number, pages: number, pgoff: number) =>
  ({ start, end: start + pages * 4096, pgoff }) as Vma;

describe('expectedPfn: the documented offset arithmetic', () => {
  const s = new System({
    devices: [
      {
        name: 'gpu0',
        bars: [
          { index: 0, size: 4 * MiB, phys: BAR0 },
          { index: 1, size: 64 * KiB, phys: BAR1 },
        ],
      },
    ],
  });
  const vdev = s.devices.get('gpu0')!;

  test('device file: region index above bit 40, BAR start plus the page offset', () => {
    const m: MappingOf = { kind: 'device', vdev, pgoff: 'region' };
    // BAR1 from 8 KiB: vm_pgoff = (1 << 28) | 2; the second page of the VMA is BAR1 page 3.
    const e = expectedPfn(m, vmaAt(VA, 4, 2 ** 28 + 2), VA + 4096);
    assert.deepEqual(e, { pfn: BAR1 / 4096 + 3, linear: 16 - 3 });
    const past = expectedPfn(m, vmaAt(VA, 32, 2 ** 28 + 2), VA + 14 * 4096);
    assert.equal(past.pfn, null);
    assert.equal(expectedPfn(m, vmaAt(VA, 1, 3 * 2 ** 28), VA).pfn, null, 'region 3: no BAR');
  });

  test('vma_list era: vm_pgoff is the first pfn', () => {
    const m: MappingOf = { kind: 'device', vdev, pgoff: 'pfn' };
    assert.equal(expectedPfn(m, vmaAt(VA, 4, BAR0 / 4096 + 5), VA + 2 * 4096).pfn, BAR0 / 4096 + 7);
    assert.equal(expectedPfn(m, vmaAt(VA, 4, 0x1234), VA).pfn, null, 'a pfn in no BAR');
  });

  test('dma-buf file: vm_pgoff pages into the buffer, through the ranges in order', () => {
    const buf = {
      physVec: [
        { paddr: BAR0 + 64 * KiB, len: 8 * KiB },
        { paddr: BAR0, len: 16 * KiB },
      ],
      vdev: null,
      revoked: true,
    } as unknown as VfioPciDmaBuf;
    const m: MappingOf = { kind: 'dmabuf', buf, name: 'b' };
    // vm_pgoff 1: buffer page 1 is the second page of range 0; page 2 is the first of range 1.
    const v = vmaAt(VA, 5, 1);
    assert.deepEqual(expectedPfn(m, v, VA), { pfn: (BAR0 + 68 * KiB) / 4096, linear: 1 });
    assert.deepEqual(expectedPfn(m, v, VA + 4096), { pfn: BAR0 / 4096, linear: 4 });
    assert.equal(expectedPfn(m, v, VA + 5 * 4096).pfn, null, 'buffer page 6 is past the 24 KiB');
    // The device being gone does not matter: only the ranges do.
    assert.equal(expectedPfn(m, vmaAt(VA, 1, 0), VA).pfn, (BAR0 + 64 * KiB) / 4096);
  });

  test('oneRangeHolds: a block inside one range, not one across two adjacent ones', () => {
    const ranges = [
      { paddr: BAR0, len: 2 * MiB },
      { paddr: BAR0 + 2 * MiB, len: 2 * MiB },
    ];
    assert.equal(oneRangeHolds(ranges, BAR0 / 4096, 512), true);
    assert.equal(oneRangeHolds(ranges, BAR0 / 4096 + 256, 512), false);
  });
});

function world(design: DesignName, options: Record<string, unknown>, mmap?: 'dev' | 'buf'): S {
  const s = new System({
    design: designOf(design, options),
    devices: [
      {
        name: 'gpu0',
        bars: [
          { index: 0, size: 4 * MiB, phys: BAR0 },
          { index: 1, size: 64 * KiB, phys: BAR1 },
        ],
      },
    ],
  }) as S;
  watchSystem(s);
  s.p = s.spawn('vmm');
  s.fd = runAtomically(sysOpen(s.p, 'gpu0'));
  if (mmap === 'dev')
    s.vma = runAtomically(sysMmap(s.p, s.fd, { region: 1, offset: 0, length: 16 * KiB, at: VA })) as Vma;
  return s;
}

const ids = (p: Program<S>) =>
  [...new Set(explore({ ...p, invariant: (s) => checkSystem(s) }).violations.map((v) => v.id))].sort();

describe('TRANSLATION on the proposal', () => {
  const touch = {
    vmm: function* (s: S) {
      yield* sysAccess(s.p, VA + 4096, false, 'vmm');
    },
  };

  test('normalizePgoff: true — the buffer offset is vm_pgoff: no violation', () => {
    assert.deepEqual(
      ids({ setup: () => world('dmabuf-backed', { normalizePgoff: true }, 'dev'), threads: touch }),
      [],
    );
  });

  test('normalizePgoff: false (v4 as posted) — a region-encoded vm_pgoff under a dma-buf vm_file maps past the buffer', () => {
    const r = explore({
      setup: () => world('dmabuf-backed', { normalizePgoff: false }, 'dev'),
      threads: touch,
      invariant: (s) => checkSystem(s),
    });
    const v = r.violations.find((x) => x.id === 'TRANSLATION');
    assert.ok(v, 'TRANSLATION expected');
    assert.match(v.message, /expected nothing \(buffer offset 0x10000001000 is beyond the buffer/);
  });
});

describe('HUGE_LEAF: one range of its dma-buf', () => {
  // dmabuf-backed step 5, mmapped whole through the dma-buf fd.
  const setup = (ranges: { offset: number; length: number }[]) => (): S => {
    const s = world('dmabuf-backed', {});
    s.buf = runAtomically(sysExport(s.p, s.fd, 0, ranges));
    const len = ranges.reduce((a, r) => a + r.length, 0);
    s.vma = runAtomically(sysMmap(s.p, s.buf, { offset: 0, length: len, at: VA })) as Vma;
    return s;
  };

  test('two 2 MiB ranges, the second half of BAR0 then its first: a PMD leaf per range, no violation', () => {
    const got = ids({
      setup: setup([
        { offset: 2 * MiB, length: 2 * MiB },
        { offset: 0, length: 2 * MiB },
      ]),
      threads: {
        vmm: function* (s) {
          yield* sysAccess(s.p, VA + 4096, false, 'vmm');
          yield* sysAccess(s.p, VA + 2 * MiB + 4096, false, 'vmm');
        },
      },
      final: (s) =>
        assert.deepEqual(
          s.p.mm.pt.leafList().map((l) => l.level),
          ['pmd', 'pmd'],
        ),
    });
    assert.deepEqual(got, []);
  });

  test('two 1 MiB ranges apart: the fault falls back to PTEs; a PMD leaf that starts right runs out of range 0', () => {
    const ranges = [
      { offset: 0, length: MiB },
      { offset: 3 * MiB, length: MiB },
    ];
    const faults = ids({
      setup: setup(ranges),
      threads: {
        vmm: function* (s) {
          yield* sysAccess(s.p, VA + 4096, false, 'vmm');
        },
      },
      final: (s) =>
        assert.deepEqual(
          s.p.mm.pt.leafList().map((l) => l.level),
          ['pte'],
        ),
    });
    assert.deepEqual(faults, []);
    const planted = ids({
      setup: setup(ranges),
      threads: {
        bad: function* (s) {
          // Aligned, inside the VMA, special, first page right: only the range rule objects.
          yield* vmfInsertPfnPmd(makeVmf(s.vma!, VA, false), BAR0 / 4096, false);
        },
      },
    });
    assert.deepEqual(planted, ['HUGE_LEAF']);
  });
});

describe('after cleanup (priv->vdev = NULL) the buffer is still checked', () => {
  // An exported buffer, mmapped through its fd; the device fd is closed, so close_device cleans
  // the buffer up (revoke, zap, forget the device) while the process still holds the buffer.
  const setup = (): S => {
    const s = world('dmabuf-backed', {});
    s.buf = runAtomically(sysExport(s.p, s.fd, 0, [{ offset: 0, length: 64 * KiB }]));
    s.vma = runAtomically(sysMmap(s.p, s.buf, { offset: 0, length: 64 * KiB, at: VA })) as Vma;
    runAtomically(sysAccess(s.p, VA, false, 'setup'));
    return s;
  };
  const priv = (s: S) => (s.vma!.file!.privateData as { priv: VfioPciDmaBuf }).priv;

  test('the cleanup zaps the leaves: no violation, and the buffer has no device', () => {
    let vdev: VfioPciCoreDevice | null | undefined;
    const r = explore({
      setup,
      threads: {
        vmm: function* (s) {
          yield* sysClose(s.p, s.fd);
        },
      },
      invariant: (s) => checkSystem(s),
      final: (s) => {
        vdev = priv(s).vdev;
      },
    });
    assert.deepEqual(r.violations, []);
    assert.equal(vdev, null);
  });

  test('a leaf put back after the cleanup: MAPPING_AFTER_REVOKE; with a wrong pfn TRANSLATION', () => {
    const after = (pfn: number) =>
      ids({
        setup,
        threads: {
          vmm: function* (s) {
            yield* sysClose(s.p, s.fd);
            if (priv(s).vdev !== null) throw new Error('not cleaned up');
            // The device still decodes (another fd could re-open it): only the buffer is dead.
            yield* vmfInsertPfn(s.vma!, VA + 4096, pfn);
          },
        },
      });
    // One violation per execution, the first rule broken: the translation is checked first.
    assert.deepEqual(after(BAR0 / 4096 + 1), ['MAPPING_AFTER_REVOKE']);
    assert.deepEqual(after(BAR0 / 4096 + 9), ['TRANSLATION']);
  });
});
