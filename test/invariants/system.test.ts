// The invariants over a System: silent on upstream under every interleaving of the races that
// matter, and each one caught by a negative control that breaks its rule.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkSystem, watchSystem } from '../../src/invariants/system.js';
import { vmfInsertPfnPmd } from '../../src/kernel/mm/huge_memory.js';
import { makeVmf, vmfInsertPfn } from '../../src/kernel/mm/memory.js';
import type { Vma } from '../../src/kernel/mm/mm_types.js';
import { doMmap } from '../../src/kernel/mm/mmap.js';
import { explore, type Program, runAtomically } from '../../src/sched/index.js';
import {
  sysAccess,
  sysCommand,
  sysContainer,
  sysDma,
  sysExport,
  sysGup,
  sysImport,
  sysImporterDma,
  sysImporterUnmap,
  sysMapDma,
  sysMmap,
  sysOpen,
  sysPm,
  sysReset,
} from '../../src/uapi/syscalls.js';
import { type Process, System, type SystemSpec } from '../../src/uapi/system.js';
import { pfnmapFile } from '../kernel/mm/helpers/pfnmap-driver.js';

const MiB = 2 ** 20;
const VA = 0x7f0000000000;
type S = System & { p: Process; fd: number; vma?: Vma; buf?: number };

function world(spec: Partial<SystemSpec> = {}, o: { map?: boolean; export?: boolean } = {}): S {
  const s = new System({
    devices: [
      { name: 'gpu0', bars: [{ index: 0, size: 4 * MiB, phys: 0x3800000000 }] },
      { name: 'nic0', bars: [{ index: 0, size: 64 * 1024, phys: 0x3a00000000 }] },
    ],
    ...spec,
  }) as S;
  watchSystem(s);
  s.p = s.spawn('vmm');
  s.fd = runAtomically(sysOpen(s.p, 'gpu0'));
  if (o.map)
    s.vma = runAtomically(sysMmap(s.p, s.fd, { region: 0, offset: 0, length: 4 * MiB, at: VA })) as Vma;
  if (o.export) s.buf = runAtomically(sysExport(s.p, s.fd, 0, [{ offset: 0, length: 2 * MiB }]));
  return s;
}

const checked = (p: Program<S>): Program<S> => ({ ...p, invariant: (s) => checkSystem(s) });
const ids = (p: Program<S>) => [...new Set(explore(checked(p)).violations.map((v) => v.id))].sort();

describe('upstream keeps every invariant', () => {
  test('faults, reset, memory off, importer DMA and unmap, under every interleaving', () => {
    const r = explore(
      checked({
        setup: () => world({}, { map: true, export: true }),
        threads: {
          cpu: function* (s) {
            yield* sysAccess(s.p, VA, true, 'cpu');
            yield* sysAccess(s.p, VA + 3 * MiB, false, 'cpu');
          },
          rdma: function* (s) {
            const imp = yield* sysImport(s.p, s.buf!, 'rdma', { revocable: true });
            if (typeof imp === 'number') return;
            yield* sysImporterDma(s.p, imp);
            yield* sysImporterUnmap(imp);
          },
          admin: function* (s) {
            yield* sysReset(s.p, s.fd);
            yield* sysCommand(s.p, s.fd, false);
          },
        },
      }),
      { maxExecutions: 3000 },
    );
    assert.deepEqual(r.violations, []);
    assert.ok(r.executions > 10);
  });
});

describe('negative controls: each invariant catches what breaks its rule', () => {
  test('TRANSLATION: a leaf with the wrong pfn', () => {
    const got = ids({
      setup: () => world({}, { map: true }),
      threads: {
        bad: function* (s) {
          yield* vmfInsertPfn(s.vma!, VA, 0x3800000000 / 4096 + 7);
        },
      },
    });
    assert.deepEqual(got, ['TRANSLATION']);
  });

  test('HUGE_LEAF: a huge pfnmap leaf on a kernel that cannot mark it special', () => {
    const got = ids({
      setup: () => {
        const s = world({ arch: 'x86_64-nospecial' });
        const f = pfnmapFile('drv', { basePfn: 0x3800000000 / 4096, pages: 1024, huge: true });
        s.vma = runAtomically(doMmap(s.p.mm, { file: f, len: 4 * MiB, offset: 0, at: VA })) as Vma;
        return s;
      },
      threads: {
        drv: function* (s) {
          yield* vmfInsertPfnPmd(makeVmf(s.vma!, VA, false), 0x3800000000 / 4096, false);
        },
      },
    });
    assert.deepEqual(got, ['HUGE_LEAF']);
  });

  test('MAPPING_AFTER_REVOKE: memory disabled behind VFIO, without the zap', () => {
    const got = ids({
      setup: () => {
        const s = world({}, { map: true });
        runAtomically(sysAccess(s.p, VA, false, 'setup'));
        return s;
      },
      threads: {
        rogue: function* (s) {
          yield* s.devices.get('gpu0')!.vconfigCommand.write(0);
        },
      },
    });
    assert.deepEqual(got, ['MAPPING_AFTER_REVOKE']);
  });

  test('DMA_AFTER_REVOKE: a type1 IOMMU mapping used after low-power entry revoked the buffer', () => {
    const got = ids({
      setup: () => world({}, { map: true, export: true }),
      threads: {
        vmm: function* (s) {
          const nic = yield* sysOpen(s.p, 'nic0');
          const c = yield* sysContainer(s.p, 'c0', [nic]);
          if (typeof c === 'number') throw new Error('container');
          if ((yield* sysMapDma(s.p, c, VA, 0x100000, 4096)) !== 0) throw new Error('MAP_DMA');
          yield* sysPm(s.p, s.fd, true);
          yield* sysDma(s.p, 'nic0', 0x100000);
        },
      },
    });
    assert.deepEqual(got, ['DMA_AFTER_REVOKE']);
  });

  test('GUP_CONSISTENCY: gup-fast takes a page through a pfnmap that slow GUP refuses', () => {
    const got = ids({
      setup: () => {
        const s = world({
          arch: 'x86_64-nospecial',
          devices: [
            { name: 'gpu0', bars: [{ index: 0, size: 4 * MiB, phys: 0x3800000000, structPages: true }] },
          ],
        });
        const f = pfnmapFile('drv', { basePfn: 0x3800000000 / 4096, pages: 1024, huge: true });
        runAtomically(doMmap(s.p.mm, { file: f, len: 4 * MiB, offset: 0, at: VA }));
        return s;
      },
      threads: {
        io: function* (s) {
          yield* sysAccess(s.p, VA, false, 'io');
          yield* sysGup(s.p, VA, 1, { fast: true });
        },
      },
    });
    assert.ok(got.includes('GUP_CONSISTENCY'));
  });

  test('ISOLATION: an access through a device mapping that reaches another device', () => {
    const r = explore({
      setup: () => world({}, { map: true }),
      threads: {
        bad: function* (s) {
          yield* sysOpen(s.p, 'nic0'); // nic0 decodes: the access itself is fine, its path is not
          yield* vmfInsertPfn(s.vma!, VA, 0x3a00000000 / 4096);
          yield* sysAccess(s.p, VA, false, 'bad');
        },
      },
    });
    assert.deepEqual([...new Set(r.violations.map((v) => v.id))], ['ISOLATION']);
  });

  test('ZAP_COVERAGE: a BAR mapping linked where the device zap cannot reach it', () => {
    const got = ids({
      setup: () => world({}, { map: true }),
      threads: {
        bad: function* (s) {
          // The G4 coverage gap in miniature: the VMA's file (and address_space) is not the device's.
          const other = pfnmapFile('elsewhere', { basePfn: 0, pages: 1 });
          yield* s.devices.get('gpu0')!.vconfigCommand.read();
          s.vma!.file = other;
        },
      },
    });
    assert.deepEqual(got, ['ZAP_COVERAGE']);
  });
});
