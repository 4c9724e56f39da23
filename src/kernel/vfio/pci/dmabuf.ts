// VFIO dma-buf export of BAR ranges (drivers/vfio/pci/vfio_pci_dmabuf.c, v7.1; docs/vfio-pci.md, "dma-buf"):
// VFIO_DEVICE_FEATURE_DMA_BUF with every validation in order, the exporter ops, the revoke that
// waits for importers (vfio_pci_dma_buf_move) and the cleanup at close.

import type { DesignOptions } from '../../../designs/design.js';
import { Cell } from '../../../sched/cell.js';
import { Completion } from '../../../sched/completion.js';
import type { Mutex } from '../../../sched/mutex.js';
import type { Thread } from '../../../sched/program.js';
import { Violation } from '../../../sched/violation.js';
import {
  type DmaBuf,
  type DmaBufAttachment,
  type DmaBufOps,
  dmaBufAttachRevocable,
  dmaBufExport,
  dmaBufFd,
  dmaBufInvalidateMappings,
  dmaBufPut,
  dmaResvWait,
  ENODEV,
  EOPNOTSUPP,
  type FdTable,
  type PhysVec,
} from '../../dma-buf/dma-buf.js';
import type { File } from '../../fs/file.js';
import { fput, getFileActive } from '../../fs/file.js';
import { PAGE_SIZE } from '../../mm/arch.js';
import { vfioDevicePutRegistration, vfioDeviceTryGetRegistration } from '../vfio_main.js';
import { VFIO_PCI_ROM_REGION_INDEX, type VfioPciCoreDevice, vfioPciMemoryEnabled } from './core.js';
import { dmabufBacked, dmabufMmapOp, ownAddressSpace, vfioPciDmaBufZap } from './dmabuf_mmap.js';

export const EINVAL = -22;
export const EOVERFLOW = -75;

/** struct vfio_region_dma_range. */
export interface DmaRange {
  offset: number;
  length: number;
}

/** struct vfio_device_feature_dma_buf. */
export interface FeatureDmaBuf {
  regionIndex: number;
  openFlags?: number;
  flags?: number;
  ranges: DmaRange[];
}

/** struct vfio_pci_dma_buf (G3). */
export class VfioPciDmaBuf {
  dmabuf!: DmaBuf;
  /**
   * priv->vdev: null after cleanup (the buffer is dead for good). Changed under memory_lock and
   * resv; the CPU fault reads it under resv alone, as an event (vdevField.read()).
   */
  readonly vdevField: Cell<VfioPciCoreDevice | null>;
  /**
   * priv->revoked: written with memory_lock (write) and resv held; read under either. The word is
   * shared memory the invariants read, so a store is an event (revokedWord.write), whatever lock covers
   * it; the kernel's readers read it under a lock the writer holds, and so does the model (plain).
   */
  readonly revokedWord: Cell<boolean>;
  /** Outstanding map_dma_buf results plus one base reference. */
  readonly kref: Cell<number>;
  /** Completed when the kref drops to zero: every importer has unmapped. */
  comp: Completion;
  /** The design options in force (the device's machine's). */
  readonly design: DesignOptions;
  /** The proposal's PERM_REVOKED (absorbing; `revoked` is then true too). */
  perm = false;
  /** vma_pgoff_adjust: the vm_pgoff an mmap-made buffer's VMA keeps (0 when it is normalised). */
  vmaPgoffAdjust = 0;
  /** priv->vfile: the VFIO device file an mmap-made buffer keeps open (put at release). */
  vfile: File | null = null;
  /** The mapping attribute for future mmaps of the buffer (VFIO_DEVICE_FEATURE_DMA_BUF_MEMATTR). */
  memattr: 'uc' | 'wc' = 'uc';
  /** kfree(priv) has run (and kfree(priv->phys_vec) with it): any later use is a use-after-free. */
  freed = false;
  constructor(
    vdev: VfioPciCoreDevice,
    readonly physVec: PhysVec[],
    readonly size: number,
    name: string,
  ) {
    this.vdevField = new Cell<VfioPciCoreDevice | null>(`${name}.vdev`, vdev);
    this.design = vdev.machine.design.options;
    this.kref = new Cell(`${name}.kref`, 1);
    this.comp = new Completion(`${name}.comp`);
    this.revokedWord = new Cell(`${name}.revoked`, false);
  }

  get revoked(): boolean {
    return this.revokedWord.value;
  }

  /** priv->vdev, read where a lock the writer holds is held (no event). */
  get vdev(): VfioPciCoreDevice | null {
    return this.vdevField.value;
  }
}

const privOf = (at: DmaBufAttachment): VfioPciDmaBuf => at.dmabuf.priv as VfioPciDmaBuf;

/** The design options of the machine a buffer's device lives on (cleaned-up buffers: upstream's). */
function designOfBuf(priv: VfioPciDmaBuf): DesignOptions {
  return priv.design;
}

// include/linux/kref.h: kref_put() of priv->kref, whose release completes priv->comp.
function* krefPut(priv: VfioPciDmaBuf): Thread<void> {
  const old = yield* priv.kref.rmw((c) => [c - 1, c]);
  if (old <= 0) throw new Violation('REFCOUNT', 'vfio_pci_dma_buf kref underflow');
  if (old === 1) yield* priv.comp.complete();
}

/** vfio_pci_dmabuf_ops (G3). */
export const vfioPciDmabufOps: DmaBufOps = {
  name: 'vfio_pci_dmabuf_ops',
  // drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_attach() — in the kernel's order: P2P
  // importers only (-EOPNOTSUPP), not while revoked (-ENODEV), then (G3 only) revocable importers
  // only (-EOPNOTSUPP). A non-revocable importer of a revoked buffer therefore sees -ENODEV.
  *attach(buf, at): Thread<number> {
    const priv = buf.priv as VfioPciDmaBuf;
    if (!at.peer2peer) return EOPNOTSUPP;
    if (priv.revoked) return ENODEV;
    // G3 only: importers must be revocable (v6.19 took any P2P importer).
    if (designOfBuf(priv).importers === 'revocable-any-pin' && !dmaBufAttachRevocable(at)) return EOPNOTSUPP;
    return 0;
  },
  // vfio_pci_dma_buf_pin(): 61ceaf236115 (v6.19-rc8, merged as 1f97d9dcf536) added a .pin that
  // returns -EOPNOTSUPP to refuse pinned importers (`any-no-pin`); before it (v6.19-rc1..rc7,
  // `any`) and in G3 there is no .pin, and dma_buf_pin() returns 0.
  *pin(at): Thread<number> {
    return designOfBuf(privOf(at)).importers === 'any-no-pin' ? EOPNOTSUPP : 0;
  },
  *unpin(): Thread<void> {},
  // vfio_pci_dma_buf_map(): resv held; revoked is -ENODEV; a mapping takes a kref.
  *mapDmaBuf(at): Thread<PhysVec[] | number> {
    const priv = privOf(at);
    at.dmabuf.resv.lock.plainData();
    if (priv.revoked) return ENODEV;
    yield* priv.kref.rmw((c) => [c + 1, undefined]);
    return priv.physVec.map((p) => ({ ...p }));
  },
  // vfio_pci_dma_buf_unmap(): resv held; drops the mapping's kref (the last completes comp).
  *unmapDmaBuf(at): Thread<void> {
    yield* krefPut(privOf(at));
  },
  // vfio_pci_dma_buf_release(): if the device still owns it, leave its list under memory_lock
  // (write) and drop the registration.
  *release(buf): Thread<void> {
    const priv = buf.priv as VfioPciDmaBuf;
    privAlive(priv, 'vfio_pci_dma_buf_release()');
    const vdev = priv.vdev;
    if (vdev) {
      // (the proposal after v5: under dmabuf_lock instead)
      const listLock = dmabufListLock(vdev);
      if (listLock) yield* listLock.lock();
      else yield* vdev.memoryLock.downWrite();
      const list = vdev.dmabufs;
      const i = list.indexOf(priv);
      if (i >= 0) list.splice(i, 1);
      if (listLock) yield* listLock.unlock();
      else yield* vdev.memoryLock.upWrite();
      yield* vfioDevicePutRegistration(vdev.vdev);
    }
    // An mmap-made buffer (the proposal) held the device file: its last reference goes now.
    if (priv.vfile) {
      const f = priv.vfile;
      priv.vfile = null;
      yield* fput(f);
    }
    kfreePriv(priv, 'vfio_pci_dma_buf_release()');
  },
  // dma_buf_ops.mmap: the proposal's vfio_pci_dma_buf_mmap() (step 5); elsewhere there is none.
  *mmap(buf, vma): Thread<number> {
    const priv = buf.priv as VfioPciDmaBuf;
    const op = dmabufMmapOp(priv.design);
    return op ? yield* op(buf, vma) : EINVAL;
  },
};

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_get_dmabuf_phys() — a P2P provider for the
 * BAR (none without a BAR: -EINVAL), then vfio_pci_core_fill_phys_vec() over the BAR. Reads only
 * what probe set up: no events.
 */
export function vfioPciCoreGetDmabufPhys(
  vdev: VfioPciCoreDevice,
  regionIndex: number,
  ranges: readonly DmaRange[],
): PhysVec[] | number {
  const bar = vdev.pdev.bars[regionIndex];
  if (!bar) return EINVAL;
  return vfioPciCoreFillPhysVec(ranges, bar.phys, bar.size);
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_fill_phys_vec() — each range at its offset
 * from `start`, -EOVERFLOW when the address overflows, -EINVAL past `start + len`. Ranges may
 * overlap, alias and come in any order.
 */
export function vfioPciCoreFillPhysVec(
  ranges: readonly DmaRange[],
  start: number,
  len: number,
): PhysVec[] | number {
  const physVec: PhysVec[] = [];
  for (const r of ranges) {
    const paddr = start + r.offset;
    const end = paddr + r.length;
    if (!Number.isSafeInteger(end)) return EOVERFLOW;
    if (end > start + len) return EINVAL;
    physVec.push({ paddr, len: r.length });
  }
  return physVec;
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_feature_dma_buf() with
 * validate_dmabuf_input() and vfio_pci_core_get_dmabuf_phys(), in order.
 * Returns the dma-buf file (the new fd) or -errno.
 */
export function* vfioPciCoreFeatureDmaBuf(
  vdev: VfioPciCoreDevice,
  req: FeatureDmaBuf,
  /** The calling task's fd table (dma_buf_fd() allocates the new fd there). */
  files: FdTable,
): Thread<number> {
  // Before v6.19 the feature does not exist: vfio_pci_core_ioctl_feature() says -ENOTTY.
  if (!vdev.machine.design.options.dmabufExport) return -25;
  if (req.ranges.length === 0 || (req.flags ?? 0) !== 0) return EINVAL;
  if (req.regionIndex < 0 || req.regionIndex >= VFIO_PCI_ROM_REGION_INDEX) return ENODEV;
  // validate_dmabuf_input()
  let total = 0;
  for (const r of req.ranges) {
    if (r.length === 0 || r.offset % PAGE_SIZE !== 0 || r.length % PAGE_SIZE !== 0) return EINVAL;
    total += r.length;
    if (!Number.isSafeInteger(total)) return EOVERFLOW;
  }
  // vdev->pci_ops->get_dmabuf_phys(): vfio-pci's is vfio_pci_core_get_dmabuf_phys(); a variant
  // driver may give the ranges of memory that is no BAR (nvgrace-gpu).
  const physVec = vdev.pciOps.getDmabufPhys(vdev, req.regionIndex, req.ranges);
  if (typeof physVec === 'number') return physVec;
  const priv = yield* vfioPciDmaBufCreate(vdev, physVec, total, `${vdev.pdev.name}.dmabuf`, {
    ownMapping: !dmabufBacked(vdev) || ownAddressSpace(vdev),
  });
  if (typeof priv === 'number') return priv;
  // dma_buf_fd() consumes the reference: the file's one reference is the new fd's.
  const fd = yield* dmaBufFd(priv.dmabuf, files);
  if (fd >= 0) return fd;
  // No fd (-EMFILE): drop the buffer. Its release, when the put is the last one, takes it off the
  // device's list, puts the registration and frees priv (at the return to user space: fput()
  // defers it to task work).
  yield* dmaBufPut(priv.dmabuf);
  if (vdev.machine.design.options.exportFdErrorUnwindsTwice) {
    // v6.19 before e98137f0a874: the error path then falls through the unwinding of the steps
    // before the export as well — the registration put and phys_vec and priv freed a second time.
    yield* vfioDevicePutRegistration(vdev.vdev);
    kfreePriv(priv, 'vfio_pci_core_feature_dma_buf()');
  }
  return fd;
}

/** Reading a field of priv (priv->vdev, priv->phys_vec): priv must not have been freed. */
function privAlive(priv: VfioPciDmaBuf, where: string): void {
  if (priv.freed)
    throw new Violation(
      'USE_AFTER_FREE',
      `${where} reads ${priv.dmabuf.name}'s vfio_pci_dma_buf, already freed`,
    );
}

/** kfree(priv->phys_vec); kfree(priv): reads priv first, then frees both. */
function kfreePriv(priv: VfioPciDmaBuf, where: string): void {
  privAlive(priv, where);
  priv.freed = true;
}

// drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_feature_dma_buf() (its tail, after the validation)
/**
 * vfio_pci_dmabuf_export() (the series' helper, the tail of the export ioctl in v7.1): take a
 * registration, export the buffer, and list it on the device under memory_lock (write) and resv
 * with `revoked = !memory_enabled`. Where the design shares one address_space between the device
 * and its buffers, the buffer's file maps through the device inode's.
 */
export function* vfioPciDmaBufCreate(
  vdev: VfioPciCoreDevice,
  physVec: PhysVec[],
  total: number,
  name: string,
  o: { ownMapping: boolean },
): Thread<VfioPciDmaBuf | number> {
  if (!(yield* vfioDeviceTryGetRegistration(vdev.vdev))) return ENODEV;
  const priv = new VfioPciDmaBuf(vdev, physVec, total, name);
  const buf = dmaBufExport(name, total, vfioPciDmabufOps, priv, {
    annulFileOnRelease: vdev.machine.design.options.dmabufFileAnnulled,
  });
  if (typeof buf === 'number') {
    yield* vfioDevicePutRegistration(vdev.vdev);
    return buf;
  }
  priv.dmabuf = buf;
  // priv->revoked and priv->vdev change only with resv held (and memory_lock or dmabuf_lock).
  priv.revokedWord.guardedBy = buf.resv.lock;
  priv.vdevField.guardedBy = buf.resv.lock;
  if (!o.ownMapping) buf.file.mapping = vdev.vdev.inode.mapping;
  const listLock = dmabufListLock(vdev);
  if (listLock) {
    // The proposal after v5: under dmabuf_lock and resv, the revoke state from its shadow.
    yield* listLock.lock();
    yield* buf.resv.lock.lock();
    buf.resv.lock.plainData();
    yield* priv.revokedWord.write(vdev.revokedShadow);
    vdev.dmabufs.push(priv);
    yield* buf.resv.lock.unlock();
    yield* listLock.unlock();
    return priv;
  }
  // Under memory_lock (write) and resv: a buffer created while decode is off starts revoked.
  yield* vdev.memoryLock.downWrite();
  yield* buf.resv.lock.lock();
  buf.resv.lock.plainData();
  yield* priv.revokedWord.write(!(yield* vfioPciMemoryEnabled(vdev)));
  vdev.dmabufs.push(priv);
  yield* buf.resv.lock.unlock();
  yield* vdev.memoryLock.upWrite();
  return priv;
}

/** vdev->dmabuf_lock where the design lists buffers under it (dmabuf-backed, `exportLock: none`). */
export function dmabufListLock(vdev: VfioPciCoreDevice): Mutex | null {
  const o = vdev.machine.design.options;
  return o.mmapScheme === 'dmabuf' && o.exportLock === 'none' ? vdev.dmabufLock : null;
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_move(vdev, revoked) (G3), with memory_lock
 * held for write: for each live buffer whose state differs — under resv set revoked, invalidate
 * the importers' mappings and wait for every fence; then, revoking, drop the base kref, wait
 * until every importer has unmapped, and re-arm; unrevoking, clear revoked under resv again.
 */
export function* vfioPciDmaBufMove(vdev: VfioPciCoreDevice, revoked: boolean): Thread<void> {
  if (vdev.memoryLock.writer === -1)
    throw new Error('BUG: vfio_pci_dma_buf_move() without memory_lock held for write');
  // The proposal after v5: the list is walked, and the shadow state set, under dmabuf_lock too.
  const listLock = dmabufListLock(vdev);
  if (listLock) {
    yield* listLock.lock();
    vdev.revokedShadow = revoked;
  }
  for (const priv of [...vdev.dmabufs]) {
    // get_file_active(&priv->dmabuf->file): skip a buffer whose file is already being released. The
    // list holds no reference on the buffer or its file: a buffer whose file is gone but whose
    // dentry an O_PATH file still holds stays listed, its file freed (USE_AFTER_FREE here, unless
    // the dma-buf core annuls dmabuf->file on release: dmabufFileAnnulled).
    const file = yield* getFileActive(priv.dmabuf.filePtr());
    if (!file) continue;
    if (priv.revoked !== revoked && !priv.design.revokeWaitsForImporters) {
      // G2 (v6.19): under resv set the state and notify the importers; no waiting at all.
      const buf = priv.dmabuf;
      yield* buf.resv.lock.lock();
      yield* priv.revokedWord.write(revoked);
      yield* dmaBufInvalidateMappings(buf);
      yield* buf.resv.lock.unlock();
    } else if (priv.revoked !== revoked && !(priv.perm && !revoked)) {
      // A permanently revoked buffer (the proposal) is never unrevoked.
      if (revoked) yield* vfioPciDmaBufRevokeOne(priv);
      else {
        const buf = priv.dmabuf;
        // v7.1 invalidates and waits first (under resv, released in between); the series (v4)
        // unrevokes without either.
        if (!dmabufBacked(vdev)) {
          yield* buf.resv.lock.lock();
          yield* dmaBufInvalidateMappings(buf);
          yield* dmaResvWait(buf);
          yield* buf.resv.lock.unlock();
        }
        // v7.1-rc1..rc3 (cleanupPutsRevoked): kref_init() and reinit_completion() here, not at the
        // end of the revoke.
        if (priv.design.cleanupPutsRevoked) yield* rearm(priv);
        yield* buf.resv.lock.lock();
        yield* priv.revokedWord.write(false);
        yield* buf.resv.lock.unlock();
      }
    }
    yield* fput(file);
  }
  if (listLock) yield* listLock.unlock();
}

// drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_move() (the revoke of one buffer, its loop body)
/**
 * One buffer's revoke (G3), memory_lock held for write: under resv set revoked, invalidate the
 * importers' mappings and wait for every fence; drop the base kref, wait until every importer has
 * unmapped, re-arm; then (the proposal, step 4) zap the CPU mappings of the buffer.
 */
export function* vfioPciDmaBufRevokeOne(priv: VfioPciDmaBuf): Thread<void> {
  const buf = priv.dmabuf;
  yield* buf.resv.lock.lock();
  yield* priv.revokedWord.write(true);
  yield* dmaBufInvalidateMappings(buf);
  yield* dmaResvWait(buf);
  yield* buf.resv.lock.unlock();
  yield* krefPut(priv);
  yield* priv.comp.wait();
  // kref_init() and reinit_completion(): re-arm for the next revoke (c64a647c84f3; before it, only
  // the unrevoke re-armed).
  if (!priv.design.cleanupPutsRevoked) yield* rearm(priv);
  yield* vfioPciDmaBufZap(priv);
}

// include/linux/kref.h: kref_init() and kernel/sched/completion.c: reinit_completion() of a buffer.
function* rearm(priv: VfioPciDmaBuf): Thread<void> {
  yield* priv.kref.write(1);
  priv.comp = new Completion(`${priv.dmabuf.name}.comp`);
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_cleanup() (G3), at close: under memory_lock
 * (write) revoke and drain every buffer, then unlink each, forget the device (for good: no later
 * move can unrevoke it) and drop its registration.
 */
export function* vfioPciDmaBufCleanup(vdev: VfioPciCoreDevice): Thread<void> {
  const o = vdev.machine.design.options;
  if (o.cleanupPutsRevoked && o.revokeWaitsForImporters) return yield* vfioPciDmaBufCleanupRc(vdev);
  yield* vdev.memoryLock.downWrite();
  // G3 revokes and drains first; G2 notified each buffer as it went (no wait), which the loop's
  // move-then-forget below does with revokeWaitsForImporters off.
  yield* vfioPciDmaBufMove(vdev, true);
  const listLock = dmabufListLock(vdev);
  if (listLock) yield* listLock.lock();
  const list = vdev.dmabufs;
  for (const priv of [...list]) {
    const file = yield* getFileActive(priv.dmabuf.filePtr());
    if (!file) continue;
    yield* priv.dmabuf.resv.lock.lock();
    priv.dmabuf.resv.lock.plainData();
    list.splice(list.indexOf(priv), 1);
    yield* priv.vdevField.write(null);
    yield* priv.revokedWord.write(true);
    yield* priv.dmabuf.resv.lock.unlock();
    yield* vfioDevicePutRegistration(vdev.vdev);
    yield* fput(file);
  }
  if (listLock) yield* listLock.unlock();
  yield* vdev.memoryLock.upWrite();
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_cleanup() of v7.1-rc1..rc3 (1a8a5227f229;
 * option cleanupPutsRevoked), before c64a647c84f3: under memory_lock (write), for each live buffer,
 * under resv unlink it, forget the device, set revoked, invalidate the importers' mappings and wait
 * for every fence; then put the base kref and wait for the completion — whether or not a revoke
 * already did both (the revoke no longer re-arms: the kref is 0 and the completion consumed) — and
 * drop the registration and the list's file reference.
 */
function* vfioPciDmaBufCleanupRc(vdev: VfioPciCoreDevice): Thread<void> {
  yield* vdev.memoryLock.downWrite();
  const list = vdev.dmabufs;
  for (const priv of [...list]) {
    const buf = priv.dmabuf;
    const file = yield* getFileActive(buf.filePtr());
    if (!file) continue;
    yield* buf.resv.lock.lock();
    buf.resv.lock.plainData();
    list.splice(list.indexOf(priv), 1);
    yield* priv.vdevField.write(null);
    yield* priv.revokedWord.write(true);
    yield* dmaBufInvalidateMappings(buf);
    yield* dmaResvWait(buf);
    yield* buf.resv.lock.unlock();
    yield* krefPut(priv);
    yield* priv.comp.wait();
    yield* vfioDevicePutRegistration(vdev.vdev);
    yield* fput(file);
  }
  yield* vdev.memoryLock.upWrite();
}
