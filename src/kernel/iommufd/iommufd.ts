// iommufd with dma-buf import, and the IOMMU a device's DMA goes through (drivers/iommu/iommufd/:
// io_pagetable.c, pages.c, device.c; docs/vfio-pci.md, "iommufd and type1").
//
// An IOMMU domain is the translation table one device's DMA uses: iova page -> pfn, one Cell.
// An IOAS holds areas (iova ranges backed by pages); each domain attached to the IOAS is filled
// from every area. A dma-buf area is backed by the exporter's single physical range, obtained
// through VFIO's private interconnect, and is revoked for good by iopt_revoke_notify().

import { Cell } from '../../sched/cell.js';
import { Mutex } from '../../sched/mutex.js';
import type { Thread } from '../../sched/program.js';
import { RwSem } from '../../sched/rwsem.js';
import {
  type DmaBuf,
  type DmaBufAttachment,
  dmaBufDetach,
  dmaBufDynamicAttach,
  dmaBufGet,
  dmaBufPin,
  dmaBufPut,
  EINVAL,
  ENODEV,
  EOPNOTSUPP,
  type PhysVec,
} from '../dma-buf/dma-buf.js';
import { type File, type FileOperations, getFile } from '../fs/file.js';
import type { Machine } from '../machine.js';
import { PAGE_SIZE } from '../mm/arch.js';
import { type VfioPciDmaBuf, vfioPciDmabufOps } from '../vfio/pci/dmabuf.js';

export const EFAULT = -14;
export const EOVERFLOW = -75;
export const EEXIST = -17;

/**
 * The IOMMU translation table one device uses, and its IOTLB: like the CPU TLB (docs/mm.md), a DMA
 * holds `iotlb` for read across its translation and the access, and an unmap's IOTLB sync takes it
 * for write, so once an unmap returns no DMA still uses the old translation.
 */
export class IommuDomain {
  readonly table: Cell<ReadonlyMap<number, number>>;
  readonly iotlb: RwSem;
  constructor(readonly name: string) {
    this.table = new Cell<ReadonlyMap<number, number>>(`${name}.iommu_domain`, new Map());
    this.iotlb = new RwSem(`${name}.iotlb`, { lockClass: 'iotlb_sync' });
  }
}

// drivers/iommu/iommu.c: iommu_map()
/** One event: map iova pages to pfns (the IOMMU driver's map_pages plus IOTLB sync). */
export function* iommuMap(d: IommuDomain, iova: number, pfn: number, pages: number): Thread<void> {
  yield* d.table.rmw((m) => {
    const n = new Map(m);
    for (let i = 0; i < pages; i++) n.set(Math.floor(iova / PAGE_SIZE) + i, pfn + i);
    return [n, undefined];
  });
}

// drivers/iommu/iommu.c: iommu_unmap()
/** Unmap iova pages, then the IOTLB sync: returns when no DMA uses the old translations. */
export function* iommuUnmap(d: IommuDomain, iova: number, pages: number): Thread<void> {
  yield* d.table.rmw((m) => {
    const n = new Map(m);
    for (let i = 0; i < pages; i++) n.delete(Math.floor(iova / PAGE_SIZE) + i);
    return [n, undefined];
  });
  yield* d.iotlb.downWrite();
  yield* d.iotlb.upWrite();
}

// model-only: a device's DMA translated by its IOMMU domain (the hardware page walk and access).
/**
 * A device's DMA to `iova` through its domain: `ok` (the access reaches the pfn the IOMMU gives)
 * or -EFAULT (an IOMMU fault: no translation).
 */
export function* iommuDma(
  machine: Machine,
  d: IommuDomain | undefined,
  iova: number,
  who: string,
): Thread<number> {
  if (!d) return EFAULT;
  // Translation and access of one DMA: an IOTLB sync cannot come between them.
  yield* d.iotlb.downRead();
  try {
    const pfn = (yield* d.table.read()).get(Math.floor(iova / PAGE_SIZE));
    if (pfn === undefined) return EFAULT;
    const via = `${d.name} iova 0x${iova.toString(16)}`;
    yield* machine.access({ by: 'dma', thread: who, write: true, pfn, via });
    return 0;
  } finally {
    yield* d.iotlb.upRead();
  }
}

export const ENXIO = -6;

// drivers/iommu/iommufd/main.c: iommufd_fops_mmap() — only regions a vIOMMU driver registered in
// the context's mt_mmap can be mapped; the model has none, so every offset is -ENXIO.
function* iommufdFopsMmap(): Thread<number> {
  return ENXIO;
}

/** drivers/iommu/iommufd/main.c: iommufd_fops (/dev/iommu): ioctls only, and mmap of vIOMMU regions. */
export const iommufdFops: FileOperations = { name: 'iommufd_fops', mmap: iommufdFopsMmap };

/** struct iopt_pages of type IOPT_ADDRESS_DMABUF. */
export class IoptDmabufPages {
  /** pages->mutex (its own lockdep class: mmap_lock -> resv vs pages->mutex -> mmap_lock). */
  readonly mutex: Mutex;
  at: DmaBufAttachment | null = null;
  /** pages->dmabuf.phys; len 0 means revoked (iopt_dmabuf_revoked()). Plain data under mutex. */
  phys: PhysVec = { paddr: 0, len: 0 };
  /** (area, domain) trackers: domains this pages' areas are mapped into. */
  readonly trackers: { area: IoptArea; domain: IommuDomain }[] = [];
  constructor(
    readonly dmabuf: DmaBuf,
    /** Offset in the buffer (dmabuf.start). */
    readonly start: number,
  ) {
    this.mutex = new Mutex(`${dmabuf.name}.iopt_pages.mutex`, { lockClass: 'iopt_pages_dmabuf_mutex' });
  }
}

export interface IoptArea {
  iova: number;
  length: number;
  pages: IoptDmabufPages;
}

/** struct iommufd_ioas / io_pagetable. Areas and domains are plain data under iovaRwsem. */
export class Ioas {
  readonly iovaRwsem: Mutex;
  readonly areas: IoptArea[] = [];
  readonly domains: IommuDomain[] = [];
  constructor(readonly name: string) {
    this.iovaRwsem = new Mutex(`${name}.iova_rwsem`, { lockClass: 'iova_rwsem' });
  }
}

// drivers/iommu/iommufd/pages.c: iopt_revoke_notify() — invalidate_mappings of iommufd's
// attachment, called by the exporter with resv held: unmap every domain synchronously, for good.
function* ioptRevokeNotify(at: DmaBufAttachment): Thread<void> {
  const pages = at.importerPriv as IoptDmabufPages;
  yield* pages.mutex.lock();
  if (pages.phys.len !== 0) {
    for (const t of pages.trackers) yield* iommuUnmap(t.domain, t.area.iova, t.area.length / PAGE_SIZE);
    pages.phys = { paddr: 0, len: 0 };
  }
  yield* pages.mutex.unlock();
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_iommufd_map() — resv held: not VFIO's
 * buffer -EOPNOTSUPP; revoked -ENODEV; more than one range -EOPNOTSUPP; else the one range.
 */
function vfioPciDmaBufIommufdMap(at: DmaBufAttachment): PhysVec | number {
  if (at.dmabuf.ops !== vfioPciDmabufOps) return EOPNOTSUPP;
  const priv = at.dmabuf.priv as VfioPciDmaBuf;
  if (priv.revoked) return ENODEV;
  if (priv.physVec.length !== 1) return EOPNOTSUPP;
  return { ...priv.physVec[0]! };
}

// drivers/iommu/iommufd/pages.c: iopt_map_dmabuf()
function* ioptMapDmabuf(pages: IoptDmabufPages): Thread<number> {
  const buf = pages.dmabuf;
  const at = yield* dmaBufDynamicAttach(
    buf,
    { allowPeer2peer: true, invalidateMappings: ioptRevokeNotify },
    pages,
  );
  if (typeof at === 'number') return at;
  pages.at = at;
  yield* buf.resv.lock.lock();
  // dma_buf_pin() came with the revoke series (8c5f9645c, G3: the designs whose VFIO accepts pinned
  // revocable importers); v6.19's iommufd mapped without pinning.
  const pins =
    (buf.priv as { design?: { importers?: string } } | undefined)?.design?.importers !== 'any-no-pin';
  let err = pins ? yield* dmaBufPin(at) : 0;
  if (err === 0) {
    const phys = vfioPciDmaBufIommufdMap(at);
    if (typeof phys === 'number') err = phys;
    else pages.phys = phys;
  }
  yield* buf.resv.lock.unlock();
  if (err !== 0) {
    yield* dmaBufDetach(at);
    pages.at = null;
  }
  return err;
}

// drivers/iommu/iommufd/pages.c: iopt_area_fill_domain() for a dma-buf area: nothing once revoked.
function* fillDomain(area: IoptArea, domain: IommuDomain): Thread<void> {
  const pages = area.pages;
  yield* pages.mutex.lock();
  if (pages.phys.len !== 0) {
    const paddr = pages.phys.paddr + pages.start;
    yield* iommuMap(domain, area.iova, Math.floor(paddr / PAGE_SIZE), area.length / PAGE_SIZE);
    pages.trackers.push({ area, domain });
  }
  yield* pages.mutex.unlock();
}

// drivers/iommu/iommufd/ioas.c: iommufd_ioas_map_file()
/**
 * IOMMU_IOAS_MAP_FILE: drivers/iommu/iommufd/io_pagetable.c: iopt_map_file_pages() with a dma-buf
 * fd -> iopt_alloc_dmabuf_pages() -> iopt_map_dmabuf(), then iopt_map_common(): the area goes
 * into the IOAS and every attached domain is filled. Returns 0 or -errno.
 */
export function* iommufdIoasMapFile(
  ioas: Ioas,
  file: File,
  iova: number,
  length: number,
  start = 0,
): Thread<number> {
  if (length === 0) return EINVAL;
  if (!Number.isSafeInteger(start + length)) return EOVERFLOW;
  if (iova % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0 || start % PAGE_SIZE !== 0) return EINVAL;
  // dma_buf_get() first; the memfd path (not a dma-buf) is outside the model.
  const buf = dmaBufGet(file);
  if (typeof buf === 'number') return EINVAL;
  yield* getFile(file);
  // iopt_alloc_dmabuf_pages()
  if (buf.size <= start + length - 1) {
    yield* dmaBufPut(buf);
    return EINVAL;
  }
  const pages = new IoptDmabufPages(buf, start);
  const err = yield* ioptMapDmabuf(pages);
  if (err !== 0) {
    yield* dmaBufPut(buf);
    return err;
  }
  // iopt_map_common(): the IOVA range must be free.
  yield* ioas.iovaRwsem.lock();
  if (ioas.areas.some((a) => a.iova < iova + length && iova < a.iova + a.length)) {
    yield* ioas.iovaRwsem.unlock();
    yield* releasePages(pages);
    return EEXIST;
  }
  const area: IoptArea = { iova, length, pages };
  ioas.areas.push(area);
  for (const d of ioas.domains) yield* fillDomain(area, d);
  yield* ioas.iovaRwsem.unlock();
  return 0;
}

// drivers/iommu/iommufd/pages.c: iopt_release_pages() for a dma-buf: detach, then put.
function* releasePages(pages: IoptDmabufPages): Thread<void> {
  if (pages.at) yield* dmaBufDetach(pages.at);
  pages.at = null;
  yield* dmaBufPut(pages.dmabuf);
}

// drivers/iommu/iommufd/ioas.c: iommufd_ioas_unmap()
/** IOMMU_IOAS_UNMAP: areas wholly inside the range are unmapped from every domain and released. */
export function* iommufdIoasUnmap(ioas: Ioas, iova: number, length: number): Thread<number> {
  yield* ioas.iovaRwsem.lock();
  const gone = ioas.areas.filter((a) => a.iova >= iova && a.iova + a.length <= iova + length);
  for (const area of gone) {
    ioas.areas.splice(ioas.areas.indexOf(area), 1);
    const pages = area.pages;
    yield* pages.mutex.lock();
    // iopt_area_unfill_domain() is skipped once revoked.
    if (pages.phys.len !== 0) {
      for (const t of pages.trackers.filter((x) => x.area === area)) {
        yield* iommuUnmap(t.domain, area.iova, area.length / PAGE_SIZE);
      }
    }
    pages.trackers.splice(0, pages.trackers.length, ...pages.trackers.filter((x) => x.area !== area));
    yield* pages.mutex.unlock();
  }
  yield* ioas.iovaRwsem.unlock();
  for (const area of gone) yield* releasePages(area.pages);
  return gone.length > 0 ? 0 : -2;
}

// drivers/iommu/iommufd/device.c: iommufd_device_attach()
/** Attaching a device to an IOAS: its domain joins the IOAS and is filled from every area. */
export function* iommufdAttach(ioas: Ioas, domain: IommuDomain): Thread<number> {
  yield* ioas.iovaRwsem.lock();
  if (!ioas.domains.includes(domain)) {
    ioas.domains.push(domain);
    for (const area of ioas.areas) yield* fillDomain(area, domain);
  }
  yield* ioas.iovaRwsem.unlock();
  return 0;
}
