// The dma-buf core (drivers/dma-buf/dma-buf.c, include/linux/dma-buf.h, dma-resv.c):
// export, the dma-buf file, dynamic attach, map/unmap under the reservation lock, pin, and
// invalidate_mappings, the revoke protocol of v7.1. Fences are completions signalled with
// complete_all().

import { SETUP_THREAD } from '../../sched/atomic.js';
import { Cell } from '../../sched/cell.js';
import { Completion } from '../../sched/completion.js';
import { Mutex } from '../../sched/mutex.js';
import { currentThread } from '../../sched/prim.js';
import type { Thread } from '../../sched/program.js';
import {
  Dentry,
  type DentryOperations,
  File,
  type FileOperations,
  type FilePointer,
  fput,
  Inode,
} from '../fs/file.js';
import type { Vma } from '../mm/mm_types.js';

export const EINVAL = -22;
export const ENODEV = -19;
export const EOPNOTSUPP = -95;

/** A physical range a mapping reaches (struct phys_vec / the sg table's DMA addresses). */
export interface PhysVec {
  paddr: number;
  len: number;
}

/** struct dma_buf_ops: the exporter's side. */
export interface DmaBufOps {
  name: string;
  attach?(buf: DmaBuf, at: DmaBufAttachment): Thread<number>;
  detach?(buf: DmaBuf, at: DmaBufAttachment): Thread<void>;
  /** Called with resv held; returns the mapping or -errno. */
  mapDmaBuf(at: DmaBufAttachment): Thread<PhysVec[] | number>;
  /** Called with resv held. */
  unmapDmaBuf(at: DmaBufAttachment, sgt: PhysVec[]): Thread<void>;
  pin?(at: DmaBufAttachment): Thread<number>;
  unpin?(at: DmaBufAttachment): Thread<void>;
  release(buf: DmaBuf): Thread<void>;
  mmap?(buf: DmaBuf, vma: Vma): Thread<number>;
}

/** struct dma_buf_attach_ops: the importer's side. */
export interface DmaBufAttachOps {
  allowPeer2peer: boolean;
  /** invalidate_mappings (move_notify before v7.0); called with resv held. Optional in G3. */
  invalidateMappings?(at: DmaBufAttachment): Thread<void>;
}

/** struct dma_resv: the reservation lock (a ww_mutex) and the fences of work on the buffer. */
export class DmaResv {
  readonly lock: Mutex;
  /** Unsignalled fences (plain data, changed under the lock). */
  fences: Completion[] = [];
  constructor(name: string) {
    // The invariants read what the lock guards through objects of their own (the exporter's
    // revoked word, importers' mappings), not the lock. Sections that also touch plain data
    // (fences, the attachment list, the exporter's list, importers' fields) say so with
    // plainData(), which orders them eagerly; the CPU fault's section reads only objects, and
    // only what is changed with the lock held, so it is taken as a read-only section.
    this.lock = new Mutex(`${name}.resv`, {
      lockClass: 'reservation_ww_class_mutex',
      readOnlySections: true,
    });
  }
}

export class DmaBufAttachment {
  constructor(
    readonly dmabuf: DmaBuf,
    readonly importerOps: DmaBufAttachOps | undefined,
    readonly importerPriv: unknown,
  ) {}
  get peer2peer(): boolean {
    return this.importerOps?.allowPeer2peer ?? false;
  }
}

/** What the machine's dma-buf core does where kernels (or a posted fix) differ. */
export interface DmaBufCore {
  /**
   * dma_buf_file_release() sets dmabuf->file to NULL (Matt Evans, "dma-buf: Annul dmabuf->file on
   * file release", posted, not merged: design option dmabufFileAnnulled).
   */
  annulFileOnRelease: boolean;
}

/** The dma-buf core as mainline has it. */
export const MAINLINE_DMA_BUF_CORE: DmaBufCore = { annulFileOnRelease: false };

export class DmaBuf {
  readonly resv: DmaResv;
  /** Attachments (plain data, changed under resv). */
  readonly attachments: DmaBufAttachment[] = [];
  /**
   * The buffer's file (what dma_buf_getfile() made). Model code dereferences it only where the
   * kernel holds a reference on it; what reads dmabuf->file without one goes through `filePtr()`.
   */
  readonly file: File;
  /** dmabuf->file as a location others load (only with the annul fix, which writes it). */
  private readonly fileField: Cell<File | null> | null;
  /** kfree(dmabuf): dma_buf_release(), the dentry's d_release, has run. */
  released = false;

  constructor(
    readonly name: string,
    readonly size: number,
    readonly ops: DmaBufOps,
    readonly priv: unknown,
    readonly core: DmaBufCore = MAINLINE_DMA_BUF_CORE,
  ) {
    this.resv = new DmaResv(name);
    // dma_buf_getfile(): a fresh inode on the dma-buf pseudo-fs, whose dentries have
    // dma_buf_dentry_ops; f_op = dma_buf_fops. dma_buf_export() then sets d_fsdata and dmabuf->file.
    const inode = new Inode(name);
    const dentry = new Dentry(name, inode, dmaBufDentryOps);
    this.file = new File(name, inode, dmaBufFops(this), this, { dentry });
    dentry.fsdata = this;
    this.fileField = core.annulFileOnRelease ? new Cell<File | null>(`${name}.dmabuf_file`, this.file) : null;
  }

  /** &dmabuf->file, as get_file_active() is given it (file.ts: FilePointer). */
  filePtr(): FilePointer {
    return this.fileField ?? this.file;
  }

  /** @internal dma_buf_file_release() with the annul fix: dmabuf->file = NULL. */
  *annulFile(): Thread<void> {
    if (this.fileField) yield* this.fileField.write(null);
  }
}

// drivers/dma-buf/dma-buf.c: dma_buf_fops (mmap, and release: dma_buf_file_release()).
function dmaBufFops(buf: DmaBuf): FileOperations {
  return {
    name: 'dma_buf_fops',
    // dma_buf_mmap_internal(): no ops->mmap is -EINVAL; so is a range past the buffer.
    *mmap(_f: File, vma: Vma): Thread<number> {
      if (!buf.ops.mmap) return EINVAL;
      if (vma.pgoff + vma.pages > Math.floor(buf.size / 4096)) return EINVAL;
      return yield* buf.ops.mmap(buf, vma);
    },
    // drivers/dma-buf/dma-buf.c: dma_buf_file_release() — __dma_buf_list_del() takes the buffer off
    // the global dmabuf_list (not modelled: nothing in the model walks it); with the annul fix it
    // also clears dmabuf->file. The exporter's release is the dentry's (dma_buf_release()), later.
    *release(): Thread<void> {
      yield* buf.annulFile();
    },
  };
}

/**
 * drivers/dma-buf/dma-buf.c: dma_buf_dentry_ops — .d_release = dma_buf_release() (since
 * 4ab59c3c638c, 2020: the exporter's release runs when the dentry goes, not when the file does).
 */
const dmaBufDentryOps: DentryOperations = {
  name: 'dma_buf_dentry_ops',
  release: dmaBufRelease,
};

// drivers/dma-buf/dma-buf.c: dma_buf_release() — d_fsdata's buffer: ops->release (the exporter's),
// then dma_resv_fini(), module_put() and kfree(dmabuf).
function* dmaBufRelease(dentry: Dentry): Thread<void> {
  const buf = dentry.fsdata as DmaBuf | undefined;
  if (!buf) return;
  yield* buf.ops.release(buf);
  buf.released = true;
}

export function isDmaBufFile(f: File): boolean {
  return f.fop.name === 'dma_buf_fops';
}

// drivers/dma-buf/dma-buf.c: dma_buf_export() — the ops it requires, then the file.
export function dmaBufExport(
  name: string,
  size: number,
  ops: DmaBufOps,
  priv: unknown,
  core: DmaBufCore = MAINLINE_DMA_BUF_CORE,
): DmaBuf | number {
  if (!priv || !ops.mapDmaBuf || !ops.unmapDmaBuf || !ops.release) return EINVAL;
  if ((ops.pin === undefined) !== (ops.unpin === undefined)) return EINVAL;
  return new DmaBuf(name, size, ops, priv, core);
}

// drivers/dma-buf/dma-buf.c: dma_buf_get() — the file must be a dma-buf's.
export function dmaBufGet(f: File): DmaBuf | number {
  return isDmaBufFile(f) ? (f.privateData as DmaBuf) : EINVAL;
}

// drivers/dma-buf/dma-buf.c: dma_buf_put()
/** The calling task's fd table, as dma_buf_fd() uses it (fs/file.c). */
export interface FdTable {
  /** get_unused_fd_flags(): a reserved fd, or -EMFILE. */
  getUnusedFdFlags(): Thread<number>;
  /** fd_install(). */
  fdInstall(fd: number, file: File): void;
}

// drivers/dma-buf/dma-buf.c: dma_buf_fd() — a new fd that takes over the caller's reference on the
// buffer's file, or a negative errno (the reference is then still the caller's).
export function* dmaBufFd(buf: DmaBuf, files: FdTable): Thread<number> {
  const fd = yield* files.getUnusedFdFlags();
  if (fd < 0) return fd;
  files.fdInstall(fd, buf.file);
  return fd;
}

// drivers/dma-buf/dma-buf.c: dma_buf_put()
export function* dmaBufPut(buf: DmaBuf): Thread<void> {
  return yield* fput(buf.file);
}

// drivers/dma-buf/dma-buf.c: dma_buf_attach_revocable() (G3)
export function dmaBufAttachRevocable(at: DmaBufAttachment): boolean {
  return at.importerOps?.invalidateMappings !== undefined;
}

/**
 * drivers/dma-buf/dma-buf.c: dma_buf_dynamic_attach() — ops->attach runs without resv; on success
 * the attachment joins the list under resv. (dma_buf_attach() is the same with no importer ops.)
 */
export function* dmaBufDynamicAttach(
  buf: DmaBuf,
  importerOps: DmaBufAttachOps | undefined,
  importerPriv: unknown,
): Thread<DmaBufAttachment | number> {
  const at = new DmaBufAttachment(buf, importerOps, importerPriv);
  if (buf.ops.attach) {
    const err = yield* buf.ops.attach(buf, at);
    if (err !== 0) return err;
  }
  yield* buf.resv.lock.lock();
  buf.resv.lock.plainData();
  buf.attachments.push(at);
  yield* buf.resv.lock.unlock();
  return at;
}

// drivers/dma-buf/dma-buf.c: dma_buf_detach() — list_del under resv, then ops->detach.
export function* dmaBufDetach(at: DmaBufAttachment): Thread<void> {
  const buf = at.dmabuf;
  yield* buf.resv.lock.lock();
  buf.resv.lock.plainData();
  const i = buf.attachments.indexOf(at);
  if (i >= 0) buf.attachments.splice(i, 1);
  yield* buf.resv.lock.unlock();
  if (buf.ops.detach) yield* buf.ops.detach(buf, at);
}

// include/linux/dma-resv.h: dma_resv_assert_held() — lockdep_assert_held(): the caller holds it.
function assertResvHeld(buf: DmaBuf, fn: string): void {
  const t = currentThread();
  // Setup runs as SETUP_THREAD; outside any execution (direct calls in tests) any holder counts.
  const held = t === -2 ? buf.resv.lock.locked : buf.resv.lock.heldBy(t === -1 ? SETUP_THREAD : t);
  if (!held) throw new Error(`BUG: ${fn} without the reservation lock held (dma_resv_assert_held)`);
}

// drivers/dma-buf/dma-buf.c: dma_buf_map_attachment() (resv held by the caller)
export function* dmaBufMapAttachment(at: DmaBufAttachment): Thread<PhysVec[] | number> {
  assertResvHeld(at.dmabuf, 'dma_buf_map_attachment');
  return yield* at.dmabuf.ops.mapDmaBuf(at);
}

// drivers/dma-buf/dma-buf.c: dma_buf_unmap_attachment() (resv held by the caller)
export function* dmaBufUnmapAttachment(at: DmaBufAttachment, sgt: PhysVec[]): Thread<void> {
  assertResvHeld(at.dmabuf, 'dma_buf_unmap_attachment');
  yield* at.dmabuf.ops.unmapDmaBuf(at, sgt);
}

// drivers/dma-buf/dma-buf.c: dma_buf_pin() — dynamic importers only, resv held; no ops->pin is 0.
export function* dmaBufPin(at: DmaBufAttachment): Thread<number> {
  if (!at.importerOps) throw new Error('BUG: dma_buf_pin() by a static importer');
  assertResvHeld(at.dmabuf, 'dma_buf_pin');
  return at.dmabuf.ops.pin ? yield* at.dmabuf.ops.pin(at) : 0;
}

// drivers/dma-buf/dma-buf.c: dma_buf_unpin()
export function* dmaBufUnpin(at: DmaBufAttachment): Thread<void> {
  assertResvHeld(at.dmabuf, 'dma_buf_unpin');
  if (at.dmabuf.ops.unpin) yield* at.dmabuf.ops.unpin(at);
}

/**
 * drivers/dma-buf/dma-buf.c: dma_buf_invalidate_mappings() — with resv held, each attachment's
 * invalidate_mappings. When it returns importers may still access the memory: an exporter that
 * wants quiescence also waits for fences and for the importers' unmaps (the kernel-doc of
 * dma_buf_invalidate_mappings() and dma_buf_attach_revocable()).
 */
export function* dmaBufInvalidateMappings(buf: DmaBuf): Thread<void> {
  assertResvHeld(buf, 'dma_buf_invalidate_mappings');
  buf.resv.lock.plainData();
  for (const at of [...buf.attachments]) {
    if (at.importerOps?.invalidateMappings) yield* at.importerOps.invalidateMappings(at);
  }
}

/** drivers/dma-buf/dma-resv.c: dma_resv_add_fence() (resv held). */
export function dmaResvAddFence(buf: DmaBuf, fence: Completion): void {
  assertResvHeld(buf, 'dma_resv_add_fence');
  buf.resv.lock.plainData();
  buf.resv.fences.push(fence);
}

/**
 * drivers/dma-buf/dma-resv.c: dma_resv_wait_timeout(DMA_RESV_USAGE_BOOKKEEP, no timeout) — waits
 * for every fence present now. The kernel waits with the lock held by its callers in VFIO; the
 * model does the same (signalling a fence takes no resv).
 */
export function* dmaResvWait(buf: DmaBuf): Thread<void> {
  assertResvHeld(buf, 'dma_resv_wait_timeout');
  buf.resv.lock.plainData();
  const fences = [...buf.resv.fences];
  for (const f of fences) yield* f.wait();
  buf.resv.fences = buf.resv.fences.filter((f) => !fences.includes(f));
}

/** A new fence for work on the buffer (drivers/dma-buf/dma-fence.c: dma_fence_init()). */
export function newFence(name: string): Completion {
  return new Completion(name);
}

// drivers/dma-buf/dma-fence.c: dma_fence_signal()
export function* dmaFenceSignal(fence: Completion): Thread<void> {
  yield* fence.completeAll();
}
