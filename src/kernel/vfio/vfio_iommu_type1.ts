// The VFIO type1 IOMMU backend's VFIO_IOMMU_MAP_DMA of a user address (drivers/vfio/
// vfio_iommu_type1.c), and iommufd's compat version of it
// (drivers/iommu/iommufd/vfio_compat.c); docs/vfio-pci.md, "iommufd and type1".
//
// type1 maps a BAR mmap's pfns into the IOMMU by reading the page table (follow_fault_pfn) and keeps
// no link to the VMA or the device: a later zap, reset, munmap or close leaves the IOMMU mapping in
// place — the stale-translation window the model shows as it is. iommufd's compat path pins with
// FOLL_LONGTERM instead, which a pfnmap refuses: MAP_DMA of a BAR address fails with -EFAULT.

import type { Thread } from '../../sched/program.js';
import { isDmaBufFile } from '../dma-buf/dma-buf.js';
import { type FileOperations, fput, getFile } from '../fs/file.js';
import { type Ioas, type IommuDomain, iommufdIoasMapFile, iommuMap } from '../iommufd/iommufd.js';
import { PAGE_SIZE } from '../mm/arch.js';
import { EFAULT, getUserPages, getUserPagesFast, putPages } from '../mm/gup.js';
import { handleMmFault } from '../mm/memory.js';
import type { Mm } from '../mm/mm.js';
import { hasFlag, VM_FAULT_ERROR, VM_PFNMAP } from '../mm/mm_types.js';
import { pfnAt } from '../mm/pgtable.js';

/** A type1 container: the domains of the devices attached to it. */
export class Type1Container {
  readonly domains: IommuDomain[] = [];
  constructor(readonly name: string) {}
}

/**
 * drivers/vfio/container.c: vfio_fops (/dev/vfio/vfio, the container): ioctls only — no mmap (so
 * mmap(2) is -ENODEV) and no write (so a pwrite is -EINVAL).
 */
export const vfioContainerFops: FileOperations = { name: 'vfio_fops' };

// drivers/vfio/vfio_iommu_type1.c: vaddr_get_pfns()
/**
 * vaddr_get_pfns() for one page: pin_user_pages_remote() first (refused for VM_IO/VM_PFNMAP), then
 * for a VM_PFNMAP VMA follow_fault_pfn(): read the leaf, or fault it in with fixup_user_fault()
 * (through the driver's handler: SIGBUS when memory is disabled) and read again. The pfn must be
 * is_invalid_reserved_pfn() (no struct page, or PageReserved), else -EFAULT.
 */
function* vaddrGetPfn(mm: Mm, vaddr: number, write: boolean): Thread<number> {
  const pinned = yield* getUserPages(mm, vaddr, 1, { write, pin: true, longterm: true });
  if (pinned.pfns.length === 1) return pinned.pfns[0]!;
  yield* mm.mmapLock.downRead();
  let ret = EFAULT;
  const vma = mm.vmaLookup(vaddr);
  if (vma && hasFlag(vma.flags, VM_PFNMAP)) {
    for (let tries = 0; tries < 3; tries++) {
      const t = yield* mm.pt.walk(vaddr);
      if (t !== null) {
        ret = write && !t.write ? EFAULT : pfnAt(t, vaddr);
        break;
      }
      const r = yield* handleMmFault(vma, vaddr, write);
      if (r & VM_FAULT_ERROR) break;
    }
  }
  yield* mm.mmapLock.upRead();
  if (ret >= 0 && mm.machine.phys.pfnValid(ret)) ret = EFAULT; // !is_invalid_reserved_pfn()
  return ret;
}

// drivers/vfio/vfio_iommu_type1.c: vfio_dma_do_map() -> vfio_pin_map_dma()
export function* type1MapDma(
  c: Type1Container,
  mm: Mm,
  vaddr: number,
  iova: number,
  length: number,
): Thread<number> {
  if (length === 0 || vaddr % PAGE_SIZE !== 0 || iova % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0)
    return -22;
  for (let off = 0; off < length; off += PAGE_SIZE) {
    const pfn = yield* vaddrGetPfn(mm, vaddr + off, true);
    if (pfn < 0) return pfn;
    for (const d of c.domains) yield* iommuMap(d, iova + off, pfn, 1);
  }
  return 0;
}

/**
 * drivers/iommu/iommufd/vfio_compat.c: iommufd_vfio_map_dma() -> iopt_map_user_pages(): the pages
 * are pinned with pin_user_pages_fast(FOLL_LONGTERM) and mapped into every domain of the IOAS; a
 * BAR mapping is refused (-EFAULT), since gup stops at its special leaves and slow GUP refuses
 * VM_PFNMAP. The pins stay with the mapping (unmapping compat areas is not modelled).
 */
export function* iommufdCompatMapDma(
  domains: readonly IommuDomain[],
  mm: Mm,
  vaddr: number,
  iova: number,
  length: number,
): Thread<number> {
  const g = yield* getUserPagesFast(mm, vaddr, Math.ceil(length / PAGE_SIZE), {
    write: true,
    pin: true,
    longterm: true,
  });
  if (g.err !== 0) {
    yield* putPages(mm, g.pfns, { pin: true, longterm: true });
    return g.err;
  }
  for (let i = 0; i < g.pfns.length; i++) {
    for (const d of domains) yield* iommuMap(d, iova + i * PAGE_SIZE, g.pfns[i]!, 1);
  }
  return 0;
}

// model-only: what the proposal wants iommufd's type1 compat MAP_DMA to do (no posted patch).
/**
 * The proposal's goal for iommufd's type1 compat (Jason, 2026-02-27; no patch posted yet, an
 * open question): VFIO_IOMMU_MAP_DMA of a vaddr inside a VFIO mmap finds the dma-buf under the
 * VMA (under mmap_lock for read) and maps that range of it into the IOAS as a revocable importer,
 * exactly as IOMMU_IOAS_MAP_FILE would; a revoke then unmaps it. Any other vaddr goes the GUP way.
 */
export function* iommufdCompatMapDmaDmabuf(
  ioas: Ioas,
  mm: Mm,
  vaddr: number,
  iova: number,
  length: number,
): Thread<number> {
  yield* mm.mmapLock.downRead();
  const vma = mm.vmaLookup(vaddr);
  const file = vma?.file;
  if (!vma || !file || !isDmaBufFile(file) || vaddr < vma.start || vaddr + length > vma.end) {
    yield* mm.mmapLock.upRead();
    return yield* iommufdCompatMapDma(ioas.domains, mm, vaddr, iova, length);
  }
  const priv = (file.privateData as { priv: { vmaPgoffAdjust?: number } }).priv;
  const offset = vaddr - vma.start + (vma.pgoff - (priv.vmaPgoffAdjust ?? 0)) * PAGE_SIZE;
  yield* getFile(file);
  yield* mm.mmapLock.upRead();
  const ret = yield* iommufdIoasMapFile(ioas, file, iova, length, offset);
  yield* fput(file);
  return ret;
}
