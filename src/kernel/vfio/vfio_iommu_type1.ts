// The VFIO type1 IOMMU backend's VFIO_IOMMU_MAP_DMA of a user address and VFIO_IOMMU_UNMAP_DMA
// (drivers/vfio/vfio_iommu_type1.c), and iommufd's compat version of the map
// (drivers/iommu/iommufd/vfio_compat.c); docs/vfio-pci.md, "iommufd and type1".
//
// type1 maps a BAR mmap's pfns into the IOMMU by reading the page table (follow_fault_pfn) and keeps
// no link to the VMA or the device: a later zap, reset, munmap or close leaves the IOMMU mapping in
// place — the stale-translation window the model shows as it is. iommufd's compat path pins with
// FOLL_LONGTERM instead, which a pfnmap refuses: MAP_DMA of a BAR address fails with -EFAULT.

import { Mutex } from '../../sched/mutex.js';
import type { Thread } from '../../sched/program.js';
import { isDmaBufFile } from '../dma-buf/dma-buf.js';
import { type FileOperations, fput, getFile } from '../fs/file.js';
import { type Ioas, type IommuDomain, iommufdIoasMapFile, iommuMap, iommuUnmap } from '../iommufd/iommufd.js';
import { PAGE_SIZE } from '../mm/arch.js';
import { EFAULT, getUserPages, getUserPagesFast, putPages } from '../mm/gup.js';

/** -EEXIST: the IOVA range is already mapped. */
const EEXIST = -17;

import { handleMmFault } from '../mm/memory.js';
import type { Mm } from '../mm/mm.js';
import { hasFlag, VM_FAULT_ERROR, VM_PFNMAP } from '../mm/mm_types.js';
import { pfnAt } from '../mm/pgtable.js';

/** One VFIO_IOMMU_MAP_DMA mapping (struct vfio_dma): its IOVA range and what each page pinned. */
interface VfioDma {
  iova: number;
  /** Bytes mapped so far (grows as pages are pinned and mapped, as vfio_pin_map_dma() does). */
  size: number;
  /** The mm of the task that mapped it (dma->task->mm): only it may unmap. */
  mm: Mm;
  /** Per mapped page: the pfn, and whether pinning took a page reference (pin_user_pages). */
  pfns: number[];
  pinned: boolean[];
}

/**
 * A type1 container (struct vfio_iommu, VFIO_TYPE1v2_IOMMU as VMMs open it): the domains of the
 * devices attached to it, its mappings (dma_list), and iommu->lock, which map and unmap hold
 * throughout, pinning included.
 */
export class Type1Container {
  readonly domains: IommuDomain[] = [];
  readonly dmas: VfioDma[] = [];
  readonly lock: Mutex;
  constructor(readonly name: string) {
    this.lock = new Mutex(`${name}.iommu_lock`, { lockClass: 'iommu->lock' });
  }
}

// drivers/vfio/vfio_iommu_type1.c: vfio_find_dma()
/** A mapping that overlaps [iova, iova + size), or undefined. */
function vfioFindDma(c: Type1Container, iova: number, size: number): VfioDma | undefined {
  return c.dmas.find((d) => d.iova < iova + size && iova < d.iova + d.size);
}

// drivers/vfio/vfio_iommu_type1.c: vfio_remove_dma() -> vfio_unmap_unpin()
/** Unmaps the mapping from every domain, unpins what pinning took, and unlinks it. */
function* vfioRemoveDma(c: Type1Container, dma: VfioDma): Thread<void> {
  const pages = dma.size / PAGE_SIZE;
  if (pages > 0) for (const d of c.domains) yield* iommuUnmap(d, dma.iova, pages);
  const taken = dma.pfns.filter((_, i) => dma.pinned[i]);
  if (taken.length > 0) yield* putPages(dma.mm, taken, { pin: true, longterm: true });
  c.dmas.splice(c.dmas.indexOf(dma), 1);
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
function* vaddrGetPfn(mm: Mm, vaddr: number, write: boolean): Thread<{ pfn: number; pinned: boolean }> {
  const pinned = yield* getUserPages(mm, vaddr, 1, { write, pin: true, longterm: true });
  if (pinned.pfns.length === 1) return { pfn: pinned.pfns[0]!, pinned: true };
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
  return { pfn: ret, pinned: false };
}

// drivers/vfio/vfio_iommu_type1.c: vfio_dma_do_map() -> vfio_pin_map_dma()
/**
 * Under iommu->lock: the alignment checks, -EEXIST for an IOVA range already mapped, then the new
 * vfio_dma linked at size 0 and grown page by page (pin, then map into every domain); an error
 * removes it again (what was mapped is unmapped and unpinned).
 */
export function* type1MapDma(
  c: Type1Container,
  mm: Mm,
  vaddr: number,
  iova: number,
  length: number,
): Thread<number> {
  yield* c.lock.lock();
  let ret = 0;
  if (length === 0 || vaddr % PAGE_SIZE !== 0 || iova % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0)
    ret = -22;
  else if (vfioFindDma(c, iova, length)) ret = EEXIST;
  else {
    const dma: VfioDma = { iova, size: 0, mm, pfns: [], pinned: [] };
    c.dmas.push(dma);
    c.dmas.sort((a, b) => a.iova - b.iova);
    while (dma.size < length) {
      const got = yield* vaddrGetPfn(mm, vaddr + dma.size, true);
      if (got.pfn < 0) {
        ret = got.pfn;
        break;
      }
      for (const d of c.domains) yield* iommuMap(d, iova + dma.size, got.pfn, 1);
      dma.pfns.push(got.pfn);
      dma.pinned.push(got.pinned);
      dma.size += PAGE_SIZE;
    }
    if (ret < 0) yield* vfioRemoveDma(c, dma);
  }
  yield* c.lock.unlock();
  return ret;
}

// drivers/vfio/vfio_iommu_type1.c: vfio_dma_do_unmap() (the type1v2 interface)
/**
 * Under iommu->lock: -EINVAL for an unaligned or empty range, or one that bisects a mapping
 * (type1v2: an unmap covers whole mappings); then every mapping that starts inside the range and
 * belongs to the caller's mm is removed — unmapped from every domain (with the IOTLB sync) and
 * unpinned. Returns the bytes unmapped (0 when nothing was mapped there).
 */
export function* type1UnmapDma(c: Type1Container, mm: Mm, iova: number, size: number): Thread<number> {
  yield* c.lock.lock();
  let ret = -22;
  let unmapped = 0;
  const first = vfioFindDma(c, iova, 1);
  const last = vfioFindDma(c, iova + size - 1, 1);
  const bisected = (first && first.iova !== iova) || (last && last.iova + last.size !== iova + size);
  if (iova % PAGE_SIZE === 0 && size > 0 && size % PAGE_SIZE === 0 && !bisected) {
    ret = 0;
    for (const dma of [...c.dmas]) {
      if (dma.iova < iova) continue;
      if (dma.iova >= iova + size) break;
      if (dma.mm !== mm) break;
      unmapped += dma.size;
      yield* vfioRemoveDma(c, dma);
    }
  }
  yield* c.lock.unlock();
  return ret < 0 ? ret : unmapped;
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
