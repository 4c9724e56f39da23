// A synthetic but realistic RunRecord for the trace renderers: a vmm faulting on a BAR mmap, an admin
// resetting the device (zap under memory_lock, then revoking the exported dma-buf and waiting for
// its importer), and a guest importer mapping and unmapping the dma-buf. The zap misses the pte the
// vmm installed, so when the reset returns a leaf still maps the BAR: MAPPING_AFTER_REVOKE.
//
// Hand-offs it contains (release -> next acquisition by another thread):
//   7 -> 17  mutex  dmabuf.gpu0.dmabuf1.resv   guest unlock  -> admin lock
//   9 -> 10  rwsem  vdev.gpu0.memory_lock       vmm up_read   -> admin down_write(wait)
//  20 -> 21  mutex  dmabuf.gpu0.dmabuf1.resv   admin unlock  -> guest lock
//  25 -> 26  completion dmabuf.gpu0.dmabuf1.comp guest complete -> admin wait
//  27 -> 28  rwsem  vdev.gpu0.memory_lock       admin up_write -> vmm down_read
// and releases that are not hand-offs (the same thread takes the object next, or nobody does).

import type { Mark, RunRecord, TraceStep } from '../../src/report/record.js';

const F = 'src/kernel';

// Stacks, outermost first.
const V_LOCK = ['op:load', 'do_user_addr_fault', 'lock_mm_and_find_vma'];
const V_TOP = ['op:load', 'do_user_addr_fault'];
const V_HMF = ['op:load', 'do_user_addr_fault', 'handle_mm_fault', '__handle_mm_fault'];
const V_HUGE = [...V_HMF, 'vfio_pci_mmap_huge_fault'];
const V_INS = [...V_HUGE, 'vmf_insert_pfn', 'insert_pfn'];
const A_ZAP = ['op:reset', 'vfio_pci_core_reset', 'vfio_pci_zap_and_down_write_memory_lock'];
const A_UMR = [...A_ZAP, 'unmap_mapping_range', 'zap_pmd_range'];
const A_RST = ['op:reset', 'vfio_pci_core_reset'];
const A_MOVE = [...A_RST, 'vfio_pci_dma_buf_move'];
const A_NOTIFY = [...A_MOVE, 'dma_buf_move_notify'];
const A_RW = ['op:mmio_read', 'vfio_pci_rw', 'vfio_pci_bar_rw'];
const G_MAP = ['op:dma_map', 'dma_buf_map_attachment_unlocked'];
const G_VMAP = [...G_MAP, 'vfio_pci_dma_buf_map'];
const G_UN = ['op:dma_unmap', 'dma_buf_unmap_attachment_unlocked'];
const G_VUN = [...G_UN, 'vfio_pci_dma_buf_unmap'];
const M_UNMAP = ['op:munmap', '__vm_munmap'];
const M_ZAP = [...M_UNMAP, 'unmap_region', 'zap_pte_range'];

type Row = [
  thread: string,
  op: string,
  object: string,
  result: string | undefined,
  stack: string[],
  line: number,
];

const ROWS: Row[] = [
  ['vmm', 'down_read', 'mm.vmm.mmap_lock', undefined, V_LOCK, 41], // 0
  ['guest', 'lock', 'dmabuf.gpu0.dmabuf1.resv', undefined, G_MAP, 88], // 1
  ['vmm', 'read', 'pte.vmm.0x7f0000001000', '0x0', V_HMF, 120], // 2
  ['guest', 'read', 'dmabuf.gpu0.dmabuf1.revoked', 'false', G_VMAP, 97], // 3
  ['vmm', 'down_read', 'vdev.gpu0.memory_lock', undefined, V_HUGE, 210], // 4
  ['admin', 'down_write', 'vdev.gpu0.memory_lock', 'queued', A_ZAP, 330], // 5
  ['vmm', 'read', 'vdev.gpu0.memory_enabled', 'true', V_HUGE, 214], // 6
  ['guest', 'unlock', 'dmabuf.gpu0.dmabuf1.resv', undefined, G_MAP, 91], // 7
  ['vmm', 'write', 'pte.vmm.0x7f0000001000', '0x3800001', V_INS, 150], // 8
  ['vmm', 'up_read', 'vdev.gpu0.memory_lock', undefined, V_HUGE, 231], // 9
  ['admin', 'down_write(wait)', 'vdev.gpu0.memory_lock', undefined, A_ZAP, 330], // 10
  ['vmm', 'up_read', 'mm.vmm.mmap_lock', undefined, V_TOP, 60], // 11
  ['admin', 'read', 'pmd.vmm.0x7f0000200000', '0x3800200', A_UMR, 402], // 12
  ['admin', 'write', 'pmd.vmm.0x7f0000200000', '0x0', A_UMR, 405], // 13
  ['vmm', 'down_read', 'mm.vmm.mmap_lock', undefined, V_LOCK, 41], // 14
  ['admin', 'write', 'vdev.gpu0.memory_enabled', 'false', A_RST, 352], // 15
  ['vmm', 'read', 'pte.vmm.0x7f0000002000', '0x0', V_HMF, 120], // 16
  ['admin', 'lock', 'dmabuf.gpu0.dmabuf1.resv', undefined, A_MOVE, 512], // 17
  ['admin', 'write', 'dmabuf.gpu0.dmabuf1.revoked', 'true', A_MOVE, 515], // 18
  ['admin', 'write', 'importer.guest.invalidated', 'true', A_NOTIFY, 77], // 19
  ['admin', 'unlock', 'dmabuf.gpu0.dmabuf1.resv', undefined, A_MOVE, 520], // 20
  ['guest', 'lock', 'dmabuf.gpu0.dmabuf1.resv', undefined, G_UN, 130], // 21
  ['guest', 'read', 'importer.guest.invalidated', 'true', G_VUN, 141], // 22
  ['guest', 'write', 'attach.guest.sgt', '0x0', G_VUN, 145], // 23
  ['guest', 'unlock', 'dmabuf.gpu0.dmabuf1.resv', undefined, G_UN, 133], // 24
  ['guest', 'complete', 'dmabuf.gpu0.dmabuf1.comp', undefined, [...G_UN, 'vfio_pci_dma_buf_done'], 160], // 25
  ['admin', 'wait', 'dmabuf.gpu0.dmabuf1.comp', undefined, A_MOVE, 524], // 26
  ['admin', 'up_write', 'vdev.gpu0.memory_lock', undefined, A_RST, 360], // 27
  ['vmm', 'down_read', 'vdev.gpu0.memory_lock', undefined, V_HUGE, 210], // 28
  ['admin', 'down_read', 'vdev.gpu0.memory_lock', undefined, A_RW, 610], // 29
  ['vmm', 'read', 'vdev.gpu0.memory_enabled', 'false', V_HUGE, 214], // 30
  ['admin', 'read', 'vdev.gpu0.memory_enabled', 'false', [...A_RW, '__vfio_pci_memory_enabled'], 44], // 31
  ['vmm', 'up_read', 'vdev.gpu0.memory_lock', undefined, V_HUGE, 218], // 32
  ['admin', 'up_read', 'vdev.gpu0.memory_lock', undefined, A_RW, 622], // 33
  ['vmm', 'up_read', 'mm.vmm.mmap_lock', undefined, V_TOP, 60], // 34
  ['guest', 'trylock', 'dmabuf.gpu0.dmabuf1.resv', 'true', G_MAP, 85], // 35
  ['guest', 'read', 'dmabuf.gpu0.dmabuf1.revoked', 'true', G_VMAP, 97], // 36
  ['guest', 'unlock', 'dmabuf.gpu0.dmabuf1.resv', undefined, G_MAP, 91], // 37
  ['vmm', 'down_write', 'mm.vmm.mmap_lock', undefined, M_UNMAP, 18], // 38
  ['vmm', 'read', 'pte.vmm.0x7f0000001000', '0x3800001', M_ZAP, 240], // 39
  ['vmm', 'write', 'pte.vmm.0x7f0000001000', '0x0', M_ZAP, 244], // 40
  ['vmm', 'up_write', 'mm.vmm.mmap_lock', undefined, M_UNMAP, 25], // 41
];

const FILES: Record<string, string> = {
  vmm: 'mm/fault.ts',
  admin: 'vfio/pci-core.ts',
  guest: 'dma-buf/importer.ts',
};

export const STEPS: TraceStep[] = ROWS.map(([thread, op, object, result, stack, line], index) => ({
  index,
  thread,
  op,
  object,
  ...(result !== undefined ? { result } : {}),
  site: `${F}/${FILES[thread]}:${line}:7`,
  stack: [...stack],
}));

const mark = (
  after: number,
  thread: string | undefined,
  kind: Mark['kind'],
  text: string,
  data: Mark['data'],
): Mark => ({
  after,
  ...(thread ? { thread } : {}),
  kind,
  text,
  data,
});

export const MARKS: Mark[] = [
  mark(0, 'setup', 'op-begin', 'setup: mmap bar0', { op: 'mmap', args: 'bar=0 len=0x400000 populate=1' }),
  mark(0, 'setup', 'leaf-set', 'vmm pmd 0x7f0000200000 -> 0x3800200', {
    process: 'vmm',
    level: 'pmd',
    va: 0x7f0000200000,
    pfn: 0x3800200,
  }),
  mark(0, 'setup', 'op-end', 'setup: mmap = ok', { op: 'mmap', outcome: 'ok' }),
  mark(0, 'vmm', 'op-begin', 'vmm: load bar0+0x1000', { op: 'load', map: 'bar0', offset: 0x1000 }),
  mark(0, 'admin', 'op-begin', 'admin: reset gpu0', { op: 'reset', device: 'gpu0' }),
  mark(0, 'guest', 'op-begin', 'guest: dma_map gpu0.dmabuf1', { op: 'dma_map', dmabuf: 'gpu0.dmabuf1' }),
  mark(8, 'guest', 'op-end', 'guest: dma_map = ok', { op: 'dma_map', outcome: 'ok', expected: 'ok' }),
  mark(8, 'guest', 'op-begin', 'guest: dma_unmap gpu0.dmabuf1', { op: 'dma_unmap', dmabuf: 'gpu0.dmabuf1' }),
  mark(9, 'vmm', 'leaf-set', 'vmm pte 0x7f0000001000 -> 0x3800001', {
    process: 'vmm',
    level: 'pte',
    va: 0x7f0000001000,
    pfn: 0x3800001,
  }),
  mark(12, 'vmm', 'op-end', 'vmm: load = ok', { op: 'load', outcome: 'ok' }),
  mark(12, 'vmm', 'op-begin', 'vmm: load bar0+0x2000', { op: 'load', map: 'bar0', offset: 0x2000 }),
  mark(14, 'admin', 'leaf-clear', 'vmm pmd 0x7f0000200000 -x 0x3800200', {
    process: 'vmm',
    level: 'pmd',
    va: 0x7f0000200000,
    pfn: 0x3800200,
  }),
  mark(19, 'admin', 'revoke', 'gpu0.dmabuf1 revoked', { dmabuf: 'gpu0.dmabuf1', state: 'revoked' }),
  mark(26, 'guest', 'op-end', 'guest: dma_unmap = ok', { op: 'dma_unmap', outcome: 'ok' }),
  mark(26, 'guest', 'op-begin', 'guest: dma_map gpu0.dmabuf1', { op: 'dma_map', dmabuf: 'gpu0.dmabuf1' }),
  mark(28, 'admin', 'violation', 'MAPPING_AFTER_REVOKE: vmm still maps gpu0 BAR0 at 0x7f0000001000', {
    kind: 'MAPPING_AFTER_REVOKE',
    id: 'v1',
  }),
  mark(28, 'admin', 'op-end', 'admin: reset = ok', { op: 'reset', outcome: 'ok' }),
  mark(28, 'admin', 'op-begin', 'admin: mmio_read bar0+0x0', { op: 'mmio_read', bar: 0, offset: 0 }),
  mark(34, 'admin', 'op-end', 'admin: mmio_read = -EIO', {
    op: 'mmio_read',
    outcome: '-EIO',
    expected: '-EIO',
  }),
  mark(35, 'vmm', 'op-end', 'vmm: load = sigbus', { op: 'load', outcome: 'sigbus', expected: 'sigbus' }),
  mark(35, 'vmm', 'op-begin', 'vmm: munmap bar0', { op: 'munmap', map: 'bar0' }),
  mark(38, 'guest', 'op-end', 'guest: dma_map = -ENODEV', {
    op: 'dma_map',
    outcome: '-ENODEV',
    expected: '-ENODEV',
  }),
  mark(41, 'vmm', 'leaf-clear', 'vmm pte 0x7f0000001000 -x 0x3800001', {
    process: 'vmm',
    level: 'pte',
    va: 0x7f0000001000,
    pfn: 0x3800001,
  }),
  mark(42, 'vmm', 'op-end', 'vmm: munmap = ok', { op: 'munmap', outcome: 'ok' }),
];

/** The expected hand-offs, as (release, acquisition) event numbers. */
export const HANDOFFS: [number, number][] = [
  [7, 17],
  [9, 10],
  [20, 21],
  [25, 26],
  [27, 28],
];

export function traceFixture(): RunRecord {
  return {
    scenario: { name: 'reset-vs-fault', file: 'scenarios/reset-vs-fault.yaml', source: '# synthetic\n' },
    design: { name: 'zap-misses-pte', options: { zap: 'pmd-only' } },
    schedule: 'v,g,v,g,v,a,v,g,v,v,a,v,a,a,v,a,v,a,a,a,a,g,g,g,g,g,a,a,v,a,v,a,v,a,v,g,g,g,v,v,v,v',
    steps: STEPS.map((s) => ({ ...s, stack: [...s.stack] })),
    marks: MARKS.map((m) => ({ ...m, data: { ...m.data } })),
    memory: {
      processes: [
        {
          name: 'vmm',
          vmas: [
            {
              start: 0x7f0000000000,
              end: 0x7f0000400000,
              flags: 'rw-s pfnmap io dontexpand',
              file: 'vfio-device gpu0',
              offset: 0,
              leaves: [],
            },
          ],
        },
      ],
      devices: [
        {
          name: 'gpu0',
          bars: [{ index: 0, phys: 0x3800000000, size: 0x400000, structPages: false }],
          dmabufs: [
            { name: 'gpu0.dmabuf1', ranges: [{ paddr: 0x3800000000, len: 0x200000 }], state: 'revoked' },
          ],
          state: 'memory off, D0',
        },
      ],
      zapped: [
        { process: 'vmm', level: 'pmd', va: 0x7f0000200000, size: 0x200000, pfn: 0x3800200, after: 14 },
        { process: 'vmm', level: 'pte', va: 0x7f0000001000, size: 0x1000, pfn: 0x3800001, after: 41 },
      ],
    },
    violations: [
      {
        kind: 'MAPPING_AFTER_REVOKE',
        id: 'v1',
        message: 'vmm still maps gpu0 BAR0 at 0x7f0000001000 (pfn 0x3800001) after reset returned',
        thread: 'admin',
      },
    ],
  };
}
