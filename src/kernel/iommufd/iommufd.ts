// iommufd with dma-buf import, and the IOMMU a device's DMA goes through (drivers/iommu/iommufd/:
// io_pagetable.c, pages.c, device.c; docs/vfio-pci.md, "iommufd and type1").
//
// An IOMMU domain is the translation table one device's DMA uses: iova page -> pfn, one Cell.
// An IOAS holds areas (iova ranges backed by pages); each domain attached to the IOAS is filled
// from every area. A dma-buf area is backed by the exporter's single physical range, obtained
// through VFIO's private interconnect, and is revoked for good by iopt_revoke_notify().

import type { DesignOptions } from '../../designs/design.js';
import { Cell } from '../../sched/cell.js';
import { Mutex } from '../../sched/mutex.js';
import type { Thread } from '../../sched/program.js';
import { RwSem } from '../../sched/rwsem.js';
import { Violation } from '../../sched/violation.js';
import {
  type DmaBuf,
  type DmaBufAttachment,
  dmaBufDetach,
  dmaBufDynamicAttach,
  dmaBufGet,
  dmaBufPin,
  dmaBufPut,
  dmaBufUnpin,
  EINVAL,
  ENODEV,
  EOPNOTSUPP,
  type PhysVec,
} from '../dma-buf/dma-buf.js';
import { type File, type FileOperations, getFile } from '../fs/file.js';
import type { Machine } from '../machine.js';
import { PAGE_SIZE } from '../mm/arch.js';
import type { Mm } from '../mm/mm.js';
import { type VfioPciDmaBuf, vfioPciDmabufOps } from '../vfio/pci/dmabuf.js';

export const EFAULT = -14;
export const EOVERFLOW = -75;
export const EEXIST = -17;
export const ENOENT = -2;

/**
 * The IOMMU translation table one device uses, and its IOTLB: like the CPU TLB (docs/mm.md), a DMA
 * holds `iotlb` for read across its translation and the access, and an unmap's IOTLB sync takes it
 * for write, so once an unmap returns no DMA still uses the old translation.
 */
/** A domain's translations in traces: `iova 0x1000 -> pfn 0x3800000, ...`, or `no translations`. */
function showDomain(m: ReadonlyMap<number, number>): string {
  if (m.size === 0) return 'no translations';
  const hex = (x: number): string => `0x${x.toString(16)}`;
  return [...m]
    .sort((a, b) => a[0] - b[0])
    .map(([page, pfn]) => `iova ${hex(page * PAGE_SIZE)} -> pfn ${hex(pfn)}`)
    .join(', ');
}

export class IommuDomain {
  readonly table: Cell<ReadonlyMap<number, number>>;
  readonly iotlb: RwSem;
  constructor(readonly name: string) {
    this.table = new Cell<ReadonlyMap<number, number>>(`${name}.iommu_domain`, new Map(), {
      show: showDomain,
    });
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
  /**
   * mutex_destroy(&pages->mutex) happened (debug mutexes poison the lock's magic): a later
   * mutex_lock() of it is a use of a torn-down object. An event, so the explorer orders the destroy
   * against the locks of other threads.
   */
  readonly mutexDestroyed: Cell<boolean>;
  /** dma_buf_pin() succeeded at map time (iommufd pins since 8c5f9645c389). */
  pinned = false;
  constructor(
    readonly dmabuf: DmaBuf,
    /** Offset in the buffer (dmabuf.start). */
    readonly start: number,
    /** pages->source_mm: the mm of the task that mapped it (iopt_alloc_pages() grabs current->mm). */
    readonly sourceMm: Mm | undefined = undefined,
  ) {
    this.mutex = new Mutex(`${dmabuf.name}.iopt_pages.mutex`, {
      lockClass: 'iopt_pages_dmabuf_mutex',
      guardsPlainData: true,
    });
    this.mutexDestroyed = new Cell(`${dmabuf.name}.iopt_pages.mutex.freed`, false);
  }

  // kernel/locking/mutex.c: mutex_lock() with CONFIG_DEBUG_MUTEXES (the lock->magic check)
  /** mutex_lock(&pages->mutex), with the debug-mutex check that the lock was not destroyed. */
  *mutexLock(fn: string): Thread<void> {
    if (yield* this.mutexDestroyed.read()) {
      throw new Violation(
        'USE_AFTER_FREE',
        `${fn}() locks ${this.mutex.name} after iopt_release_pages() destroyed it (mutex_destroy): the attachment was still on ${this.dmabuf.name}'s list`,
      );
    }
    yield* this.mutex.lock();
  }
}

export interface IoptArea {
  iova: number;
  length: number;
  pages: IoptDmabufPages;
}

/** struct iommufd_ioas / io_pagetable. Areas and domains are plain data under iovaRwsem. */
export class Ioas {
  readonly iovaRwsem: RwSem;
  readonly areas: IoptArea[] = [];
  readonly domains: IommuDomain[] = [];
  /**
   * The in-kernel access of an emulated device attached to this IOAS (iommufd_access_create() +
   * iommufd_access_attach()), made by the first `access_pin`; its ioas_lock.
   */
  access: { ioasLock: Mutex } | undefined = undefined;
  constructor(readonly name: string) {
    this.iovaRwsem = new RwSem(`${name}.iova_rwsem`, { lockClass: 'iova_rwsem' });
  }
}

/**
 * The design options of the kernel the buffer's exporter runs in (VFIO's buffers carry them; any
 * other exporter: none, and the newest behaviour applies).
 */
function optionsOf(buf: DmaBuf): Partial<DesignOptions> | undefined {
  return (buf.priv as { design?: Partial<DesignOptions> } | undefined)?.design;
}

// drivers/iommu/iommufd/pages.c: iopt_revoke_notify() — invalidate_mappings of iommufd's
// attachment, called by the exporter with resv held: unmap every domain synchronously, for good.
function* ioptRevokeNotify(at: DmaBufAttachment): Thread<void> {
  const pages = at.importerPriv as IoptDmabufPages;
  yield* pages.mutexLock('iopt_revoke_notify');
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
  buf.resv.lock.plainData();
  // dma_buf_pin() came with the revoke series (8c5f9645c, G3: the designs whose VFIO accepts pinned
  // revocable importers); v6.19's iommufd mapped without pinning.
  const pins = (optionsOf(buf)?.importers ?? 'revocable-any-pin') === 'revocable-any-pin';
  let err = pins ? yield* dmaBufPin(at) : 0;
  if (err === 0) {
    pages.pinned = pins;
    const phys = vfioPciDmaBufIommufdMap(at);
    if (typeof phys === 'number') err = phys;
    else pages.phys = phys;
    // err_unpin: dma_buf_unpin() with the reservation lock still held.
    if (typeof phys === 'number' && pins) {
      yield* dmaBufUnpin(at);
      pages.pinned = false;
    }
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
  yield* pages.mutexLock('iopt_area_fill_domain');
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
  sourceMm?: Mm,
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
  const pages = new IoptDmabufPages(buf, start, sourceMm);
  const err = yield* ioptMapDmabuf(pages);
  if (err !== 0) {
    yield* dmaBufPut(buf);
    return err;
  }
  // iopt_map_common(): the IOVA range must be free.
  yield* ioas.iovaRwsem.downWrite();
  if (ioas.areas.some((a) => a.iova < iova + length && iova < a.iova + a.length)) {
    yield* ioas.iovaRwsem.upWrite();
    yield* releasePages(pages);
    return EEXIST;
  }
  const area: IoptArea = { iova, length, pages };
  ioas.areas.push(area);
  for (const d of ioas.domains) yield* fillDomain(area, d);
  yield* ioas.iovaRwsem.upWrite();
  return 0;
}

// drivers/iommu/iommufd/pages.c: iopt_release_pages() (the last reference to dma-buf pages)
/**
 * The dma-buf block — dma_buf_unpin() (under the reservation lock since e745cd2c749e), then
 * dma_buf_detach(), which takes the attachment off the buffer's list under that lock, then
 * dma_buf_put() — runs before mmdrop()/mutex_destroy()/put_task_struct()/free_uid()/kfree() since
 * f2d70dbd3dce; before it (ioptReleaseOrder: destroy-first), after mutex_destroy().
 */
function* releasePages(pages: IoptDmabufPages): Thread<void> {
  const o = optionsOf(pages.dmabuf);
  const detachFirst = (o?.ioptReleaseOrder ?? 'detach-first') === 'detach-first';
  if (!detachFirst) yield* pages.mutexDestroyed.write(true);
  if (pages.at) {
    const at = pages.at;
    if (pages.pinned) {
      const locks = o?.ioptUnpinTakesResv ?? true;
      if (locks) {
        yield* at.dmabuf.resv.lock.lock();
        at.dmabuf.resv.lock.plainData();
      }
      yield* dmaBufUnpin(at);
      if (locks) yield* at.dmabuf.resv.lock.unlock();
      pages.pinned = false;
    }
    yield* dmaBufDetach(at);
    pages.at = null;
  }
  yield* dmaBufPut(pages.dmabuf);
  if (detachFirst) yield* pages.mutexDestroyed.write(true);
}

// drivers/iommu/iommufd/ioas.c: iommufd_ioas_unmap()
/** IOMMU_IOAS_UNMAP: areas wholly inside the range are unmapped from every domain and released. */
export function* iommufdIoasUnmap(ioas: Ioas, iova: number, length: number): Thread<number> {
  yield* ioas.iovaRwsem.downWrite();
  const gone = ioas.areas.filter((a) => a.iova >= iova && a.iova + a.length <= iova + length);
  for (const area of gone) {
    ioas.areas.splice(ioas.areas.indexOf(area), 1);
    const pages = area.pages;
    yield* pages.mutexLock('iopt_area_unfill_domains');
    // iopt_area_unfill_domain() is skipped once revoked.
    if (pages.phys.len !== 0) {
      for (const t of pages.trackers.filter((x) => x.area === area)) {
        yield* iommuUnmap(t.domain, area.iova, area.length / PAGE_SIZE);
      }
    }
    pages.trackers.splice(0, pages.trackers.length, ...pages.trackers.filter((x) => x.area !== area));
    yield* pages.mutex.unlock();
  }
  yield* ioas.iovaRwsem.upWrite();
  for (const area of gone) yield* releasePages(area.pages);
  return gone.length > 0 ? 0 : -2;
}

// drivers/iommu/iommufd/device.c: iommufd_device_attach()
/** Attaching a device to an IOAS: its domain joins the IOAS and is filled from every area. */
export function* iommufdAttach(ioas: Ioas, domain: IommuDomain): Thread<number> {
  yield* ioas.iovaRwsem.downWrite();
  if (!ioas.domains.includes(domain)) {
    ioas.domains.push(domain);
    for (const area of ioas.areas) yield* fillDomain(area, domain);
  }
  yield* ioas.iovaRwsem.upWrite();
  return 0;
}

// drivers/iommu/iommufd/device.c: iommufd_access_pin_pages()
/**
 * An in-kernel access (an emulated or mdev device) pins the pages behind [iova, iova + length):
 * access->ioas_lock, then iova_rwsem for read, then for each area iopt_area_add_access(). The
 * range must be covered by areas without a gap (-ENOENT). Returns 0 or -errno; pinned pages stay
 * pinned (the model has no unpin for accesses).
 */
export function* iommufdAccessPinPages(ioas: Ioas, iova: number, length: number): Thread<number> {
  if (length === 0) return EINVAL;
  if (!Number.isSafeInteger(iova + length)) return EOVERFLOW;
  // Keyed: whichever thread pins first makes the access.
  const lockName = `${ioas.name}.access.ioas_lock`;
  ioas.access ??= { ioasLock: new Mutex(lockName, { lockClass: 'ioas_lock', key: lockName }) };
  const access = ioas.access;
  yield* access.ioasLock.lock();
  yield* ioas.iovaRwsem.downRead();
  let err = 0;
  let at = iova;
  const end = iova + length;
  while (at < end) {
    const area = ioas.areas.find((a) => a.iova <= at && at < a.iova + a.length);
    if (!area) {
      err = ENOENT;
      break;
    }
    err = yield* ioptAreaAddAccess(area);
    if (err !== 0) break;
    at = area.iova + area.length;
  }
  yield* ioas.iovaRwsem.upRead();
  yield* access.ioasLock.unlock();
  return err;
}

// drivers/iommu/iommufd/pages.c: iopt_area_add_access()
/**
 * Since 5f3fc0ad9a41 dma-buf pages are refused (-EINVAL) before pages->mutex. Before it the mutex
 * is taken and iopt_pages_fill_xarray() fills the access: a span a domain holds is read from the
 * domain (iopt_pages_fill_from_domain()); with no domain, the pages are pinned from "user memory"
 * (pfn_reader_user_pin()), reading pages->uptr, which for dma-buf pages overlays the attachment
 * pointer: GUP takes the source mm's mmap_lock for read under pages->mutex and fails on the
 * kernel address (-EFAULT).
 */
function* ioptAreaAddAccess(area: IoptArea): Thread<number> {
  const pages = area.pages;
  if (optionsOf(pages.dmabuf)?.accessPinRejectsDmabuf ?? true) return EINVAL;
  yield* pages.mutexLock('iopt_area_add_access');
  let err = 0;
  if (pages.trackers.length === 0) {
    // pfn_reader_user_pin(): GUP on the source mm under its mmap_lock (pin_user_pages_fast()'s
    // fallback for the local mm, mmap_read_lock() + pin_user_pages_remote() for another).
    const mm = pages.sourceMm;
    if (mm) {
      yield* mm.mmapLock.downRead();
      yield* mm.mmapLock.upRead();
    }
    err = EFAULT;
  }
  yield* pages.mutex.unlock();
  return err;
}
