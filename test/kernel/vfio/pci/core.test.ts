// VFIO-PCI BAR mmap through the device fd: the mmap checks, the faults, and every zap site
// (docs/vfio-pci.md, "vfio-pci core"), with MMIO_WHILE_DISABLED checked at every access.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fput } from '../../../../src/kernel/fs/file.js';
import { PAGE_SIZE } from '../../../../src/kernel/mm/arch.js';
import { cpuAccess } from '../../../../src/kernel/mm/memory.js';
import { flagNames, type Vma } from '../../../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../../../src/kernel/mm/mmap.js';
import { munmap } from '../../../../src/kernel/mm/vma.js';
import { PCI_COMMAND_MEMORY, pciResetBus, pciWriteCommand } from '../../../../src/kernel/pci/pci.js';
import {
  vfioPciCommandWrite,
  vfioPciFlrWrite,
  vfioPciPowerStateWrite,
} from '../../../../src/kernel/vfio/pci/config.js';
import * as core from '../../../../src/kernel/vfio/pci/core.js';
import {
  regionOffset,
  vfioPciHotReset,
  vfioPciIoctlReset,
  vfioPciRuntimePmEntry,
  vfioPciRuntimePmExit,
} from '../../../../src/kernel/vfio/pci/core.js';
import { EIO, vfioPciBarRw } from '../../../../src/kernel/vfio/pci/rdwr.js';
import { explore, type Program, runAtomically, type Thread } from '../../../../src/sched/index.js';
import { finals, runOnce } from '../../helpers/run.js';
import { MiB, type Rig, rig, VA } from './helpers.js';

const leaves = (s: Rig) =>
  s.mm.pt
    .leafList()
    .map((l) => `${l.level}@${(l.base - VA).toString(16)}`)
    .join(',') || 'none';

describe('vfio_pci_core_mmap', () => {
  test('every check in order, with its errno', () => {
    const { result } = runOnce(
      () => rig(),
      function* (s) {
        const fd = s.fds[0]!;
        const map = (offset: number, len: number, shared = true) =>
          doMmap(s.mm, { file: fd, len, offset, shared });
        return [
          yield* map(regionOffset(9), PAGE_SIZE), // 1. index beyond the regions
          yield* map(regionOffset(0), PAGE_SIZE, false), // 3. MAP_PRIVATE
          yield* map(regionOffset(6), PAGE_SIZE), // 5. ROM
          yield* map(regionOffset(1), PAGE_SIZE), // 6. no BAR1
          yield* map(regionOffset(0, 2 * MiB), 4 * MiB), // 7. past the BAR's end
          typeof (yield* map(regionOffset(0, 2 * MiB), 2 * MiB)), // any page offset inside is fine
        ];
      },
    );
    assert.deepEqual(result, [-22, -22, -22, -22, -22, 'object']);
  });

  test('the VMA: flags, uncached, no PTE yet, linked into the device inode shared by every fd', () => {
    const { state } = runOnce(
      () =>
        rig({
          open: [0, 0],
          map: [
            [0, 0, 4 * MiB, VA],
            [1, 2, 64 * 1024, VA + 8 * MiB],
          ],
        }),
      function* () {},
    );
    const [a, b] = state.vmas as [Vma, Vma];
    assert.equal(flagNames(a.flags), 'READ|WRITE|SHARED|PFNMAP|IO|DONTEXPAND|DONTDUMP|ALLOW_ANY_UNCACHED');
    assert.equal(a.pageProt, 'uc');
    assert.equal(a.pgoff, regionOffset(0) / PAGE_SIZE);
    assert.equal(b.pgoff, regionOffset(2) / PAGE_SIZE);
    assert.equal(leaves(state), 'none');
    assert.equal(state.fds[0]!.mapping, state.fds[1]!.mapping);
    assert.deepEqual(state.fds[0]!.mapping.linked, [a, b]);
  });
});

describe('faults', () => {
  test('aligned BAR mapping: one PMD leaf per 2 MiB; nothing on arm64 changes that', () => {
    for (const arch of ['x86_64', 'arm64'] as const) {
      const { state, result } = runOnce(
        () => rig({ arch, map: [[0, 0, 4 * MiB, VA]] }),
        function* (s) {
          return [
            yield* cpuAccess(s.mm, VA, false, 'cpu'),
            yield* cpuAccess(s.mm, VA + 3 * MiB, true, 'cpu'),
          ];
        },
      );
      assert.deepEqual(result, ['ok', 'ok']);
      assert.equal(leaves(state), 'pmd@0,pmd@200000');
    }
  });

  test('x86_64-nospecial has no huge_fault (no ARCH_SUPPORTS_HUGE_PFNMAP): PTEs only', () => {
    const { state } = runOnce(
      () => rig({ arch: 'x86_64-nospecial', map: [[0, 0, 4 * MiB, VA]] }),
      function* (s) {
        yield* cpuAccess(s.mm, VA, false, 'cpu');
      },
    );
    assert.equal(leaves(state), 'pte@0');
  });

  test('a fault with memory disabled or in low power is SIGBUS and installs nothing', () => {
    const { state, result } = runOnce(
      () => rig({ map: [[0, 0, 4 * MiB, VA]] }),
      function* (s) {
        const d = s.devs[0]!;
        const out = [];
        yield* vfioPciCommandWrite(d, 0);
        out.push(yield* cpuAccess(s.mm, VA, false, 'cpu'));
        yield* vfioPciCommandWrite(d, PCI_COMMAND_MEMORY);
        yield* vfioPciRuntimePmEntry(d);
        out.push(yield* cpuAccess(s.mm, VA, false, 'cpu'));
        yield* vfioPciRuntimePmExit(d);
        out.push(yield* cpuAccess(s.mm, VA, false, 'cpu'));
        return out;
      },
    );
    assert.deepEqual(result, ['sigbus', 'sigbus', 'ok']);
    assert.equal(leaves(state), 'pmd@0');
  });
});

describe('zap sites', () => {
  const sites: [string, (s: Rig) => Thread<unknown>][] = [
    ['PCI_COMMAND memory off', (s) => vfioPciCommandWrite(s.devs[0]!, 0)],
    ['power state D3hot', (s) => vfioPciPowerStateWrite(s.devs[0]!, 'D3hot')],
    ['FLR through DEVCTL', (s) => vfioPciFlrWrite(s.devs[0]!)],
    ['VFIO_DEVICE_RESET', (s) => vfioPciIoctlReset(s.devs[0]!)],
    ['low-power entry', (s) => vfioPciRuntimePmEntry(s.devs[0]!)],
    ['hot reset', (s) => vfioPciHotReset([s.devs[0]!], pciResetBus)],
  ];
  for (const [name, run] of sites) {
    test(`${name} zaps every BAR mapping of every fd`, () => {
      const { state } = runOnce(
        () =>
          rig({
            open: [0, 0],
            map: [
              [0, 0, 4 * MiB, VA],
              [1, 2, 64 * 1024, VA + 8 * MiB],
            ],
          }),
        function* (s) {
          yield* cpuAccess(s.mm, VA, false, 'cpu');
          yield* cpuAccess(s.mm, VA + 8 * MiB, false, 'cpu');
          assert.equal(leaves(s), 'pmd@0,pte@800000');
          yield* run(s);
        },
      );
      assert.equal(leaves(state), 'none');
    });
  }

  test('a COMMAND write that leaves memory clear zaps even when the bit was already clear', () => {
    // vfio_basic_config_write() tests only the new value: !new_mem zaps and takes memory_lock for
    // write. A VF (no memory bit: decode is always on) keeps faulting with the bit clear, so the
    // second write of 0 finds a populated mapping and must zap it.
    const { state, result } = runOnce(
      () =>
        rig({
          devices: [
            { name: 'vf0', bars: [{ index: 0, size: 4 * MiB, phys: 0x3800000000 }], noCommandMemory: true },
          ],
          map: [[0, 0, 4 * MiB, VA]],
        }),
      function* (s) {
        const d = s.devs[0]!;
        yield* vfioPciCommandWrite(d, 0);
        const before = d.vconfigCommand.value & PCI_COMMAND_MEMORY;
        const access = yield* cpuAccess(s.mm, VA, false, 'cpu');
        const populated = leaves(s);
        yield* vfioPciCommandWrite(d, 0);
        return [before, access, populated];
      },
    );
    assert.deepEqual(result, [0, 'ok', 'pmd@0']);
    assert.equal(leaves(state), 'none');
  });

  test('setting the memory bit, or a shallower power state, zaps nothing', () => {
    const { state } = runOnce(
      () => rig({ map: [[0, 0, 4 * MiB, VA]] }),
      function* (s) {
        yield* cpuAccess(s.mm, VA, false, 'cpu');
        yield* vfioPciCommandWrite(s.devs[0]!, PCI_COMMAND_MEMORY);
        yield* vfioPciPowerStateWrite(s.devs[0]!, 'D0');
      },
    );
    assert.equal(leaves(state), 'pmd@0');
  });

  test('VFIO_DEVICE_RESET without reset support is -EINVAL and zaps nothing', () => {
    const { result, state } = runOnce(
      () =>
        rig({
          devices: [{ name: 'nic', reset: false, bars: [{ index: 0, size: 4 * MiB, phys: 0x3800000000 }] }],
          map: [[0, 0, 4 * MiB, VA]],
        }),
      function* (s) {
        yield* cpuAccess(s.mm, VA, false, 'cpu');
        return yield* vfioPciIoctlReset(s.devs[0]!);
      },
    );
    assert.equal(result, -22);
    assert.equal(leaves(state), 'pmd@0');
  });
});

describe('read/write through the device fd and close', () => {
  test('-EIO while memory is disabled; each piece is an access to the BAR', () => {
    const { state, result } = runOnce(
      () => rig(),
      function* (s) {
        const d = s.devs[0]!;
        const a = yield* vfioPciBarRw(d, 0, 0x100, 16, false, 'vmm');
        yield* vfioPciCommandWrite(d, 0);
        const b = yield* vfioPciBarRw(d, 0, 0x100, 4, true, 'vmm');
        return [a, b];
      },
    );
    assert.deepEqual(result, [16, EIO]);
    assert.equal(state.machine.accesses.filter((x) => x.by === 'kernel').length, 2);
  });

  test('the device is released only when the fd and every VMA are gone; then it stops decoding', () => {
    const { result } = runOnce(
      () => rig({ map: [[0, 0, 4 * MiB, VA]] }),
      function* (s) {
        const d = s.devs[0]!;
        yield* fput(s.fds[0]!); // close(fd): the VMA still holds the file
        const afterClose = [d.vdev.openCount.value, d.pdev.decoding];
        yield* munmap(s.mm, VA, 4 * MiB);
        return { afterClose, afterMunmap: [d.vdev.openCount.value, d.pdev.decoding] };
      },
    );
    assert.deepEqual(result, { afterClose: [1, true], afterMunmap: [0, false] });
  });
});

describe('races (every interleaving; MMIO_WHILE_DISABLED at every access)', () => {
  const race = (
    threads: Program<Rig>['threads'],
    o: Parameters<typeof rig>[0] = { map: [[0, 0, 4 * MiB, VA]] },
  ) => finals<Rig>({ setup: () => rig(o), threads }, (s) => `${s.out.join(',')} ${leaves(s)}`);

  test('fault vs PCI_COMMAND memory off', () => {
    const { run, states } = race({
      cpu: function* (s) {
        s.out[0] = yield* cpuAccess(s.mm, VA + PAGE_SIZE, false, 'cpu');
      },
      admin: function* (s) {
        yield* vfioPciCommandWrite(s.devs[0]!, 0);
      },
    });
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), ['ok none', 'sigbus none']);
  });

  test('fault vs VFIO_DEVICE_RESET', () => {
    const { run, states } = race({
      cpu: function* (s) {
        s.out[0] = yield* cpuAccess(s.mm, VA, true, 'cpu');
      },
      admin: function* (s) {
        s.out[1] = yield* vfioPciIoctlReset(s.devs[0]!);
      },
    });
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), ['ok,0 none', 'ok,0 pmd@0']);
  });

  test('read through the fd vs memory off: EIO or a completed access, never an access to a disabled BAR', () => {
    const { run, states } = race(
      {
        vmm: function* (s) {
          s.out[0] = yield* vfioPciBarRw(s.devs[0]!, 0, 0, 16, false, 'vmm');
        },
        admin: function* (s) {
          yield* vfioPciCommandWrite(s.devs[0]!, 0);
        },
      },
      {},
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states].sort(), ['-5 none', '16 none', '8 none']);
  });

  test('hot reset vs mmap and fault on two devices: -EBUSY on contention, never a stale access', () => {
    const two = {
      devices: [
        { name: 'gpu0', bars: [{ index: 0, size: 4 * MiB, phys: 0x3800000000 }] },
        { name: 'gpu1', bars: [{ index: 0, size: 4 * MiB, phys: 0x3a00000000 }] },
      ],
      open: [0, 1],
    };
    const { run, states } = race(
      {
        vmm: function* (s) {
          yield* doMmap(s.mm, { file: s.fds[1]!, len: 4 * MiB, offset: regionOffset(0), at: VA });
          s.out[0] = yield* cpuAccess(s.mm, VA, false, 'vmm');
        },
        admin: function* (s) {
          s.out[1] = yield* vfioPciHotReset(s.devs, pciResetBus);
        },
      },
      two,
    );
    assert.deepEqual(run.violations, []);
    assert.ok(
      [...states].some((x) => x.includes(',-16')),
      'some interleaving sees -EBUSY',
    );
    assert.ok(
      [...states].some((x) => x.includes(',0')),
      'some interleaving resets',
    );
  });

  test('negative control: disabling decode without the zap is caught at the next access', () => {
    const r = explore({
      setup: () => rig({ map: [[0, 0, 4 * MiB, VA]] }),
      threads: {
        cpu: function* (s) {
          yield* cpuAccess(s.mm, VA, false, 'cpu');
          yield* cpuAccess(s.mm, VA + PAGE_SIZE, false, 'cpu');
        },
        rogue: function* (s) {
          yield* pciWriteCommand(s.devs[0]!.pdev, 0); // behind VFIO's back: no memory_lock, no zap
        },
      },
    });
    const v = r.violations.find((x) => x.id === 'MMIO_WHILE_DISABLED');
    assert.ok(v);
    assert.match(
      v.message,
      /cpu \(cpu\) read gpu0 BAR0 \(pfn 0x3800001, via pmd leaf at 0x7f0000000000\) while memory decode is off/,
    );
  });
});

describe('sites that take memory_lock without a zap', () => {
  test('SR-IOV enable and ROM probing keep the BAR mappings and restore the command register', () => {
    const { state } = runOnce(
      () => rig({ map: [[0, 0, 4 * MiB, VA]] }),
      function* (s) {
        const d = s.devs[0]!;
        yield* cpuAccess(s.mm, VA, false, 'cpu');
        yield* core.vfioPciSriovConfigure(d);
        yield* vfioPciCommandWrite(d, 0);
        yield* core.vfioPciProbeRom(d);
      },
    );
    assert.equal(leaves(state), 'none'); // the command write zapped; the others did not refill
    assert.equal(state.devs[0]!.pdev.hw.value.command, 0, 'ROM probing restored the command register');
  });

  test('a fault racing ROM probing while memory is off still gets SIGBUS (the virtual bit is off)', () => {
    const { run, states } = finals<Rig>(
      {
        setup: () => {
          const s = rig({ map: [[0, 0, 4 * MiB, VA]] });
          runAtomically(vfioPciCommandWrite(s.devs[0]!, 0));
          return s;
        },
        threads: {
          cpu: function* (s) {
            s.out[0] = yield* cpuAccess(s.mm, VA, false, 'cpu');
          },
          probe: function* (s) {
            yield* core.vfioPciProbeRom(s.devs[0]!);
          },
        },
      },
      (s) => `${s.out[0]}`,
    );
    assert.deepEqual(run.violations, []);
    assert.deepEqual([...states], ['sigbus']);
  });
});
