// What a VFIO BAR mapping must map, computed by the invariants themselves from the VMA alone — its
// vm_file, vm_start and vm_pgoff — and the offset arithmetic the design documents
// (docs/invariants/TRANSLATION.md), never through the fault path's helpers: an invariant that asked
// the code it checks could not fail.
//
// - A VFIO device file (vfio_device_fops): the mmap offset encodes the region — its index in the
//   bits above VFIO_PCI_OFFSET_SHIFT (40) of the byte offset, the offset inside the region below —
//   and a BAR region maps the BAR from its start. In the vma_list and eager eras (v5.7 to v6.9)
//   vfio_pci_mmap() rewrote vm_pgoff to the first pfn itself, so vm_pgoff is the pfn there.
// - A dma-buf file (dma_buf_fops): vm_pgoff is a page offset into the buffer (the rule
//   dma_buf_mmap_internal() enforces), and buffer offsets run through the buffer's phys_vec ranges
//   in array order.

import type { DmaBuf, PhysVec } from '../kernel/dma-buf/dma-buf.js';
import type { File } from '../kernel/fs/file.js';
import { PAGE_SIZE } from '../kernel/mm/arch.js';
import type { Vma } from '../kernel/mm/mm_types.js';
import type { PciDev } from '../kernel/pci/pci.js';
import type { VfioPciCoreDevice } from '../kernel/vfio/pci/core.js';
import type { VfioPciDmaBuf } from '../kernel/vfio/pci/dmabuf.js';
import type { VfioDevice } from '../kernel/vfio/vfio_main.js';
import type { System } from '../uapi/system.js';

/** include/linux/vfio_pci_core.h: VFIO_PCI_OFFSET_SHIFT — the region index sits above bit 40. */
export const VFIO_PCI_OFFSET_SHIFT = 40;
const PAGE_SHIFT = Math.log2(PAGE_SIZE);
/** Pages in one region's offset window (2^28 with 4 KiB pages). */
const REGION_PAGES = 2 ** (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);

/** What a VMA maps, by its vm_file. */
export type MappingOf =
  /** A VFIO device file; `pgoff`: how vm_pgoff reads (region-encoded, or the first pfn). */
  | { kind: 'device'; vdev: VfioPciCoreDevice; pgoff: 'region' | 'pfn' }
  /** A VFIO dma-buf file: its ranges, whatever became of its device. */
  | { kind: 'dmabuf'; buf: VfioPciDmaBuf; name: string };

/** The mapping a VMA's vm_file makes, or undefined when it is not a VFIO device or VFIO dma-buf. */
export function mappingOf(sys: System, vma: Vma): MappingOf | undefined {
  const file = vma.file as File | undefined;
  if (!file) return undefined;
  if (file.fop.name === 'dma_buf_fops') {
    const buf = file.privateData as DmaBuf | undefined;
    const priv = buf?.priv as VfioPciDmaBuf | undefined;
    if (!buf || !priv || typeof priv !== 'object' || !Array.isArray(priv.physVec)) return undefined;
    return { kind: 'dmabuf', buf: priv, name: buf.name };
  }
  if (file.fop.name === 'vfio_device_fops') {
    const vdev = (file.privateData as VfioDevice | undefined)?.drv as VfioPciCoreDevice | undefined;
    if (!vdev || typeof vdev !== 'object' || !('memoryLock' in vdev)) return undefined;
    const scheme = sys.machine.design.options.mmapScheme;
    return { kind: 'device', vdev, pgoff: scheme === 'vma-list' || scheme === 'eager' ? 'pfn' : 'region' };
  }
  return undefined;
}

/**
 * The pfn expected at `addr` (a page of the VMA), with how many pages from there on continue it
 * linearly (to the end of the BAR or of the range); or null with the reason nothing may be mapped.
 */
export type Expected = { pfn: number; linear: number } | { pfn: null; why: string };

export function expectedPfn(m: MappingOf, vma: Vma, addr: number): Expected {
  const page = Math.floor((addr - vma.start) / PAGE_SIZE);
  if (m.kind === 'dmabuf') return inRanges(m.buf.physVec, vma.pgoff * PAGE_SIZE + page * PAGE_SIZE);
  const pdev = m.vdev.pdev;
  if (m.pgoff === 'pfn') {
    const pfn = vma.pgoff + page;
    const bar = pdev.barOf(pfn);
    if (!bar)
      return { pfn: null, why: `pfn 0x${pfn.toString(16)} (vm_pgoff + page) is in no BAR of ${pdev.name}` };
    return { pfn, linear: barEndPfn(bar) - pfn };
  }
  const index = Math.floor(vma.pgoff / REGION_PAGES);
  const inRegion = (vma.pgoff % REGION_PAGES) + page;
  const bar = pdev.bars[index];
  if (!bar) return { pfn: null, why: `region ${index} of ${pdev.name} is no BAR` };
  const pages = Math.ceil(bar.size / PAGE_SIZE);
  if (inRegion >= pages) return { pfn: null, why: `page 0x${inRegion.toString(16)} is beyond BAR${index}` };
  return { pfn: Math.floor(bar.phys / PAGE_SIZE) + inRegion, linear: pages - inRegion };
}

function barEndPfn(bar: { phys: number; size: number }): number {
  return Math.floor(bar.phys / PAGE_SIZE) + Math.ceil(bar.size / PAGE_SIZE);
}

/** A buffer byte offset through the ranges, in array order. */
function inRanges(ranges: readonly PhysVec[], offset: number): Expected {
  let base = 0;
  for (const r of ranges) {
    if (offset >= base && offset < base + r.len) {
      const pfn = Math.floor((r.paddr + (offset - base)) / PAGE_SIZE);
      return { pfn, linear: Math.ceil((base + r.len - offset) / PAGE_SIZE) };
    }
    base += r.len;
  }
  return {
    pfn: null,
    why: `buffer offset 0x${offset.toString(16)} is beyond the buffer (0x${base.toString(16)} bytes)`,
  };
}

/** The range of `ranges` that holds pfns [pfn, pfn + pages) whole, if one does. */
export function oneRangeHolds(ranges: readonly PhysVec[], pfn: number, pages: number): boolean {
  const from = pfn * PAGE_SIZE;
  const to = (pfn + pages) * PAGE_SIZE;
  return ranges.some((r) => from >= r.paddr && to <= r.paddr + r.len);
}

/** The PCI function whose BAR holds `pfn`, and its VFIO device if the system has one. */
export function deviceOfPfn(
  sys: System,
  pfn: number,
): { pdev: PciDev; vdev: VfioPciCoreDevice | undefined } | undefined {
  for (const pdev of sys.machine.pciDevices) {
    if (!pdev.barOf(pfn)) continue;
    const vdev = [...sys.devices.values()].find((v) => v.pdev === pdev);
    return { pdev, vdev };
  }
  return undefined;
}

/** The VFIO device a mapping's memory belongs to: the device file's, or the owner of the ranges. */
export function deviceOfMapping(sys: System, m: MappingOf): VfioPciCoreDevice | undefined {
  if (m.kind === 'device') return m.vdev;
  const r = m.buf.physVec[0];
  return r ? deviceOfPfn(sys, Math.floor(r.paddr / PAGE_SIZE))?.vdev : undefined;
}
