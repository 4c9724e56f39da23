// The nvgrace-gpu variant driver (src/kernel/vfio/pci/nvgrace-gpu.ts; docs/vfio-pci.md, "Variant
// drivers"): its region layout, its mmap, its read and write under memory_lock with the readiness
// check, its fault and huge fault, and the seam that binds it: a device without `driver` is the
// vfio-pci device it always was.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../../../src/designs/design.js';
import { checkMmioAccess } from '../../../../src/invariants/mmio-while-disabled.js';
import { PAGE_SIZE } from '../../../../src/kernel/mm/arch.js';
import { cpuAccess } from '../../../../src/kernel/mm/memory.js';
import { flagNames, type Vma } from '../../../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../../../src/kernel/mm/mmap.js';
import type { BarSpec } from '../../../../src/kernel/pci/pci.js';
import {
  regionOffset,
  VfioPciCoreDevice,
  vfioPciIoctlReset,
  zapsBars,
} from '../../../../src/kernel/vfio/pci/core.js';
import {
  C2C_LINK_BAR0_OFFSET,
  HBM_TRAINING_BAR0_OFFSET,
  NvgraceGpuPciCoreDevice,
  nvgraceGpuMemregion,
} from '../../../../src/kernel/vfio/pci/nvgrace-gpu.js';
import { vfioPciOps } from '../../../../src/kernel/vfio/pci/vfio_pci.js';
import { explore, type Thread } from '../../../../src/sched/index.js';
import { sysCommand, sysOpen, sysPm, sysReset, sysRw } from '../../../../src/uapi/syscalls.js';
import { type DeviceSpec, type Process, System } from '../../../../src/uapi/system.js';
import { runOnce } from '../../helpers/run.js';
import { MiB } from './helpers.js';

const KiB = 1024;
const MEM = 0x400000000000;
const BAR0 = 0x3000000000;

/** A Grace Hopper: BAR0, usemem (region 4) and the resmem carve-out after it (region 2). */
function gh(o: { use?: number; res?: number; usePhys?: number; reset?: boolean } = {}): DeviceSpec {
  const use = o.use ?? 12 * KiB;
  const bars: BarSpec[] = [
    { index: 0, size: 16 * MiB, phys: BAR0 },
    { index: 4, size: use, phys: o.usePhys ?? MEM },
  ];
  if (o.res !== 0) bars.push({ index: 2, size: o.res ?? 12 * KiB, phys: (o.usePhys ?? MEM) + use });
  return { name: 'gh0', driver: 'nvgrace-gpu', bars, ...(o.reset !== undefined ? { reset: o.reset } : {}) };
}

/** One process p with the device opened, then `body`, in one execution; upstream unless told. */
function withOpen<R>(
  dev: DeviceSpec,
  body: (s: System, p: Process, fd: number, nv: NvgraceGpuPciCoreDevice) => Thread<R>,
  o: { arch?: 'x86_64' | 'x86_64-nospecial'; design?: string } = {},
) {
  return runOnce(
    () =>
      new System({
        devices: [dev],
        design: designOf(o.design ?? 'upstream'),
        ...(o.arch ? { arch: o.arch } : {}),
      }),
    function* (s) {
      const p = s.spawn('p');
      const fd = yield* sysOpen(p, 'gh0');
      return yield* body(s, p, fd, s.devices.get('gh0') as NvgraceGpuPciCoreDevice);
    },
  );
}

const rw = (
  p: Process,
  fd: number,
  region: number,
  offset: number,
  length: number,
  write = false,
  buffer?: number,
) => sysRw(p, fd, { region, offset, length, write, ...(buffer !== undefined ? { buffer } : {}) }, 't');

/** The pfns of BAR0 the readiness poll reads. */
const POLL_PFNS = [C2C_LINK_BAR0_OFFSET, HBM_TRAINING_BAR0_OFFSET].map((o) =>
  Math.floor((BAR0 + o) / PAGE_SIZE),
);
const polls = (s: System, from = 0) =>
  s.machine.accesses.slice(from).filter((a) => POLL_PFNS.includes(a.pfn)).length;
const devmemAccesses = (s: System, from = 0) =>
  s.machine.accesses
    .slice(from)
    .filter((a) => a.pfn >= MEM / PAGE_SIZE && a.pfn < (MEM + 64 * KiB) / PAGE_SIZE).length;

describe('nvgrace-gpu: probe and the region layout', () => {
  test('usemem and resmem from regions 4 and 2; the reported BAR is the length rounded up to a power of two', () => {
    const s = new System({ devices: [gh({ use: 12 * KiB, res: 3 * MiB })] });
    const nv = s.devices.get('gh0') as NvgraceGpuPciCoreDevice;
    assert.ok(nv instanceof NvgraceGpuPciCoreDevice);
    assert.deepEqual([nv.usemem.memphys, nv.usemem.memlength, nv.usemem.barSize], [MEM, 12 * KiB, 16 * KiB]);
    assert.deepEqual(
      [nv.resmem.memphys, nv.resmem.memlength, nv.resmem.barSize],
      [MEM + 12 * KiB, 3 * MiB, 4 * MiB],
    );
    assert.equal(nv.hasMigHwBug, true);
    assert.equal(nvgraceGpuMemregion(4, nv), nv.usemem);
    assert.equal(nvgraceGpuMemregion(2, nv), nv.resmem);
    assert.equal(nvgraceGpuMemregion(0, nv), null);
    // Device memory: no struct pages, not a BAR the function decodes; BAR0 is a plain BAR.
    assert.equal(nv.pdev.bars[4]!.deviceMemory, true);
    assert.equal(nv.pdev.bars[4]!.range.hasPages, false);
    assert.equal(nv.pdev.bars[0]!.deviceMemory, false);
    assert.equal(nv.pdev.hw.value.devmemReady, true);
    assert.equal(nv.ops.name, 'nvgrace-gpu-vfio-pci');
    assert.ok(nv.pdev.errHandler?.resetDone);
  });

  test('Grace Blackwell (no region 2): no resmem, region 2 belongs to the core and has no BAR', () => {
    const { result } = withOpen(gh({ res: 0 }), function* (_s, p, fd, nv) {
      return [
        nv.resmem.memlength,
        nv.hasMigHwBug,
        nvgraceGpuMemregion(2, nv),
        yield* rw(p, fd, 2, 0, 8),
        typeof (yield* doMmap(p.mm, { file: p.fds.get(fd)!, len: PAGE_SIZE, offset: regionOffset(2) })),
      ];
    });
    assert.deepEqual(result, [0, false, null, -22, 'number']);
  });

  test('a device without `driver` is the plain vfio-pci device: vfio-pci ops, no err_handler, hw as before', () => {
    const s = new System({
      devices: [{ name: 'gpu0', bars: [{ index: 0, size: 16 * KiB, phys: 0x3800000000 }] }],
    });
    const d = s.devices.get('gpu0')!;
    assert.equal(d.constructor, VfioPciCoreDevice);
    assert.equal(d.ops, vfioPciOps);
    assert.equal(d.pdev.errHandler, undefined);
    assert.deepEqual(Object.keys(d.pdev.hw.value), ['command', 'power', 'inReset', 'enabled']);
  });
});

describe('nvgrace_gpu_mmap', () => {
  test('bounded by the memory, not the reported BAR; the pgoff keeps the region; no PTE', () => {
    const { result } = withOpen(gh(), function* (_s, p, fd) {
      const map = (region: number, off: number, len: number, shared = true) =>
        doMmap(p.mm, { file: p.fds.get(fd)!, len, offset: regionOffset(region, off), shared });
      const ok = (yield* map(4, 8 * KiB, 4 * KiB)) as Vma;
      return [
        yield* map(4, 0, 16 * KiB), // inside the 16K BAR, past the 12K of memory
        yield* map(4, 8 * KiB, 8 * KiB),
        ok.pgoff === regionOffset(4, 8 * KiB) / PAGE_SIZE,
        p.mm.pt.leafList().length,
      ];
    });
    assert.deepEqual(result, [-22, -22, true, 0]);
  });

  test('usemem cacheable, resmem write-combining with VM_ALLOW_ANY_UNCACHED, BAR0 the core mapping', () => {
    const { result } = withOpen(gh(), function* (_s, p, fd) {
      const out: string[] = [];
      for (const region of [4, 2, 0]) {
        const v = (yield* doMmap(p.mm, {
          file: p.fds.get(fd)!,
          len: PAGE_SIZE,
          offset: regionOffset(region),
        })) as Vma;
        out.push(`${v.ops?.name} ${v.pageProt} ${flagNames(v.flags)}`);
      }
      return out;
    });
    assert.deepEqual(result, [
      'nvgrace_gpu_vfio_pci_mmap_ops wb READ|WRITE|SHARED|PFNMAP|IO|DONTEXPAND|DONTDUMP',
      'nvgrace_gpu_vfio_pci_mmap_ops wc READ|WRITE|SHARED|PFNMAP|IO|DONTEXPAND|DONTDUMP|ALLOW_ANY_UNCACHED',
      'vfio_pci_mmap_ops uc READ|WRITE|SHARED|PFNMAP|IO|DONTEXPAND|DONTDUMP|ALLOW_ANY_UNCACHED',
    ]);
  });

  test('no MAP_SHARED check for the memory regions (the core refuses MAP_PRIVATE)', () => {
    const { result } = withOpen(gh(), function* (_s, p, fd) {
      const priv = (region: number) =>
        doMmap(p.mm, { file: p.fds.get(fd)!, len: PAGE_SIZE, offset: regionOffset(region), shared: false });
      return [typeof (yield* priv(4)), yield* priv(0)];
    });
    assert.deepEqual(result, ['object', -22]);
  });
});

describe('nvgrace_gpu_read / nvgrace_gpu_write', () => {
  test('bounds: -EINVAL from the reported size on; past the memory reads ~0 and drops writes (no access)', () => {
    const { result } = withOpen(gh(), function* (s, p, fd) {
      const out: (number | string)[] = [];
      out.push(yield* rw(p, fd, 4, 0, 8)); // inside: polls, reads
      const before = s.machine.accesses.length;
      out.push(yield* rw(p, fd, 4, 12 * KiB, 4 * KiB)); // past the memory, inside the BAR: 0xFF
      out.push(yield* rw(p, fd, 4, 12 * KiB, 4 * KiB, true)); // dropped, count returned
      out.push(`devmem accesses ${devmemAccesses(s, before)}`);
      out.push(yield* rw(p, fd, 4, 16 * KiB, 8)); // the reported size
      out.push(yield* rw(p, fd, 4, 8 * KiB, 64 * KiB)); // clipped to the BAR: 8K, 4K of them 0xFF
      out.push(yield* rw(p, fd, 4, 8 * KiB, 64 * KiB, true));
      return out;
    });
    assert.deepEqual(result, [8, 4096, 4096, 'devmem accesses 0', -22, 8192, 8192]);
  });

  test('resmem goes through vfio_pci_core_do_io_rw(): a read or write across the memory end returns its byte count only', () => {
    const { result } = withOpen(gh(), function* (_s, p, fd) {
      return [
        yield* rw(p, fd, 2, 8 * KiB, 8 * KiB),
        yield* rw(p, fd, 2, 8 * KiB, 8 * KiB, true),
        yield* rw(p, fd, 2, 0, 8),
      ];
    });
    // The kernel returns do_io_rw()'s count (the bytes inside the memory) and skips the ~0 fill.
    assert.deepEqual(result, [4096, 4096, 8]);
  });

  test('readiness: -EIO with memory disabled after a reset; without a pending reset the access goes on', () => {
    const { result } = withOpen(gh(), function* (_s, p, fd, nv) {
      const out: (number | boolean)[] = [];
      out.push(yield* rw(p, fd, 4, 0, 8)); // the open's reset: polls, clears reset_done
      out.push(nv.resetDone.value);
      yield* sysCommand(p, fd, false);
      out.push(yield* rw(p, fd, 4, 0, 8)); // memory disabled, no reset pending: the hardware's ~0
      out.push(yield* sysReset(p, fd));
      out.push(nv.resetDone.value);
      out.push(yield* rw(p, fd, 4, 0, 8));
      out.push(yield* rw(p, fd, 4, 0, 8, true));
      out.push(yield* rw(p, fd, 4, 12 * KiB, 8, true)); // past the memory: no lock, no check
      yield* sysCommand(p, fd, true);
      out.push(yield* rw(p, fd, 4, 0, 8));
      out.push(nv.resetDone.value);
      return out;
    });
    assert.deepEqual(result, [8, false, 8, 0, true, -5, -5, 8, 8, false]);
  });

  test('the open resets (reset_done, memory not ready); the first access polls BAR0 and trains it, the next does not', () => {
    const { result } = withOpen(gh(), function* (s, p, fd, nv) {
      const out: unknown[] = [nv.resetDone.value, nv.pdev.hw.value.devmemReady];
      let at = s.machine.accesses.length;
      out.push(yield* rw(p, fd, 4, 0, 8), polls(s, at), nv.pdev.hw.value.devmemReady);
      at = s.machine.accesses.length;
      out.push(yield* rw(p, fd, 4, 0, 8), polls(s, at));
      return out;
    });
    // Not ready: read C2C (not ready), sleep (trained), read C2C and HBM: three register reads.
    assert.deepEqual(result, [true, false, 8, 3, true, 8, 0]);
  });

  test('a device without reset support is not reset at open: nothing to wait for', () => {
    const { result } = withOpen(gh({ reset: false }), function* (s, p, fd, nv) {
      const at = s.machine.accesses.length;
      return [nv.resetDone.value, yield* rw(p, fd, 4, 0, 8), polls(s, at)];
    });
    assert.deepEqual(result, [false, 8, 0]);
  });
});

describe('nvgrace_gpu_vfio_pci_huge_fault', () => {
  test('a load polls readiness under memory_lock and maps memphys + the page; SIGBUS with memory off after a reset and in low power', () => {
    const { result } = withOpen(gh(), function* (s, p, fd) {
      const v = (yield* doMmap(p.mm, {
        file: p.fds.get(fd)!,
        len: 12 * KiB,
        offset: regionOffset(4),
      })) as Vma;
      const out: unknown[] = [];
      const at = s.machine.accesses.length;
      out.push(yield* cpuAccess(p.mm, v.start + 0x1000, false, 't'), polls(s, at));
      out.push(
        p.mm.pt
          .leafList()
          .map((l) => `${l.level}:${(l.pfn * PAGE_SIZE).toString(16)}`)
          .join(),
      );
      yield* sysCommand(p, fd, false);
      yield* sysReset(p, fd);
      out.push(yield* cpuAccess(p.mm, v.start, false, 't'), p.mm.pt.leafList().length);
      yield* sysCommand(p, fd, true);
      yield* sysPm(p, fd, true);
      out.push(yield* cpuAccess(p.mm, v.start, false, 't'));
      yield* sysPm(p, fd, false);
      out.push(yield* cpuAccess(p.mm, v.start + 0x2000, true, 't'));
      return out;
    });
    assert.deepEqual(result, ['ok', 3, 'pte:400000001000', 'sigbus', 0, 'sigbus', 'ok']);
  });

  test('a 2 MiB-aligned block of memory at an aligned address is one PMD leaf; without the arch’s special bit, PTEs', () => {
    for (const [arch, want] of [
      ['x86_64', 'pmd:400000200000'],
      ['x86_64-nospecial', 'pte:400000203000'],
    ] as const) {
      const { result } = withOpen(
        gh({ use: 4 * MiB, res: 0 }),
        function* (_s, p, fd) {
          const v = (yield* doMmap(p.mm, {
            file: p.fds.get(fd)!,
            len: 2 * MiB,
            offset: regionOffset(4, 2 * MiB),
            at: 0x7f0000200000,
          })) as Vma;
          yield* cpuAccess(p.mm, v.start + 0x3000, false, 't');
          return p.mm.pt
            .leafList()
            .map((l) => `${l.level}:${(l.pfn * PAGE_SIZE).toString(16)}`)
            .join();
        },
        { arch },
      );
      assert.equal(result, want, arch);
    }
  });
});

describe('device memory and MMIO_WHILE_DISABLED', () => {
  test('a reset takes the memory away until a poll sees it ready: an access in between is reported', () => {
    const s = () => {
      const sys = new System({ devices: [gh()] });
      return { sys, nv: sys.devices.get('gh0') as NvgraceGpuPciCoreDevice };
    };
    const messages = (after: (nv: NvgraceGpuPciCoreDevice) => Thread<void>) => {
      const run = explore(
        {
          setup: s,
          threads: {
            t: function* ({ sys, nv }) {
              const p = sys.spawn('p');
              const fd = yield* sysOpen(p, 'gh0');
              yield* rw(p, fd, 4, 0, 8); // ready
              yield* after(nv);
              const a = { by: 'kernel' as const, write: false, pfn: MEM / PAGE_SIZE };
              yield* nv.machine.access(a);
              checkMmioAccess(nv.machine, a);
            },
          },
        },
        { strategy: 'exhaustive' },
      );
      return run.violations.map((v) => v.message);
    };
    assert.deepEqual(
      messages(function* () {}),
      [],
    );
    const m = messages(function* (nv) {
      yield* vfioPciIoctlReset(nv);
    });
    assert.equal(m.length, 1);
    assert.match(m[0]!, /read gh0 BAR4 .* while its memory is not ready after a reset/);
    // Memory decode off is no reason: the hardware answers ~0 and drops writes.
    assert.deepEqual(
      messages(function* (nv) {
        yield* nv.pdev.hw.rmw((h) => [{ ...h, command: 0 }, undefined]);
      }),
      [],
    );
  });
});

describe('the driver and the designs', () => {
  test('dmabuf-backed keeps the device-wide zap for nvgrace-gpu (the series’ zap_bars_on_revoke), not for vfio-pci', () => {
    const s = new System({
      design: designOf('dmabuf-backed'),
      devices: [gh(), { name: 'gpu0', bars: [{ index: 0, size: 16 * KiB, phys: 0x3800000000 }] }],
    });
    assert.deepEqual([zapsBars(s.devices.get('gh0')!), zapsBars(s.devices.get('gpu0')!)], [true, false]);
  });

  test('on a design before v6.19 the device does not probe: open is -ENODEV', () => {
    const { result } = runOnce(
      () => new System({ design: designOf('v6.12'), devices: [gh()] }),
      function* (s) {
        return yield* sysOpen(s.spawn('p'), 'gh0');
      },
    );
    assert.equal(result, -19);
  });
});
