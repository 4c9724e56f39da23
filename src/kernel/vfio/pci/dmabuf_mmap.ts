// The proposal of the seed thread: every VFIO BAR mmap backed by a dma-buf (Jason Gunthorpe's
// progression; Matt Evans' "vfio/pci: Add mmap() for DMABUFs" as posted, v1 to v4, the option
// `revision`), and Christian König's alternative of one base object shared by the device file and
// the dma-buf file. The design options (src/designs/design.ts) choose the revision, the step and
// each point reviewers argued about; this file reads them where the variants differ.

import type { Thread } from '../../../sched/program.js';
import { Violation } from '../../../sched/violation.js';
import { type DmaBuf, ENODEV, type PhysVec } from '../../dma-buf/dma-buf.js';
import { type File, getFile } from '../../fs/file.js';
import { PAGE_SIZE, PMD_ORDER, PUD_ORDER } from '../../mm/arch.js';
import { unmapMappingRange } from '../../mm/memory.js';
import {
  hasFlag,
  setFlags,
  VM_ALLOW_ANY_UNCACHED,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_FAULT_FALLBACK,
  VM_FAULT_SIGBUS,
  VM_IO,
  VM_PFNMAP,
  VM_SHARED,
  type VmAreaDesc,
  type Vma,
  type VmFault,
  type VmOperations,
} from '../../mm/mm_types.js';
import {
  type VfioDevice,
  vfioDevicePutRegistrationScoped,
  vfioDeviceTryGetRegistrationScoped,
} from '../vfio_main.js';
import {
  isAlignedForOrder,
  pgoffInRegion,
  pgoffToIndex,
  type VfioPciCoreDevice,
  vfioPciCore,
  vfioPciMmapChecks,
  vfioPciVmfInsertPfn,
} from './core.js';
import { type VfioPciDmaBuf, vfioPciDmaBufCreate, vfioPciDmaBufRevokeOne } from './dmabuf.js';

const EINVAL = -22;
const EFAULT = -14;
const EAGAIN = -11;
const ERANGE = -34;
const EBADFD = -77;
const ENOTTY = -25;

/** Does this design back VFIO mmaps with dma-bufs (or the shared base object)? */
export function dmabufBacked(vdev: VfioPciCoreDevice): boolean {
  const s = vdev.machine.design.options.mmapScheme;
  return s === 'dmabuf' || s === 'shared-base';
}

/** The progression step in force (shared-base has every piece it needs: 5). */
function stepOf(vdev: VfioPciCoreDevice): number {
  const o = vdev.machine.design.options;
  return o.mmapScheme === 'dmabuf' ? o.step : 5;
}

/** Does a buffer of this device get an address_space of its own (dmabuf-backed step 4 on)? */
export function ownAddressSpace(vdev: VfioPciCoreDevice): boolean {
  const o = vdev.machine.design.options;
  return o.mmapScheme === 'dmabuf' && o.step >= 4 && o.addressSpace === 'per-dmabuf';
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_find_pfn() (step 2) — the buffer offset of
 * the block holding `addr` (`(aligned - vm_start) + (vm_pgoff - vma_pgoff_adjust) pages`), walked
 * through the ranges in array order: the block must lie in the VMA and entirely inside one range,
 * and its pfn must be aligned to the order. Returns the pfn, or -ERANGE / -EAGAIN (a smaller order
 * may work: FALLBACK) / -EFAULT (order 0: nothing maps here).
 */
export function vfioPciDmaBufFindPfn(priv: MmapBase, vma: Vma, addr: number, order: number): number {
  const size = PAGE_SIZE * 2 ** order;
  const aligned = addr - (addr % size);
  if (aligned < vma.start || aligned + size > vma.end) return order > 0 ? ERANGE : EFAULT;
  const offset = aligned - vma.start + (vma.pgoff - priv.vmaPgoffAdjust) * PAGE_SIZE;
  let base = 0;
  for (const r of priv.physVec) {
    if (offset >= base && offset < base + r.len) {
      if (offset + size > base + r.len) return order > 0 ? ERANGE : EFAULT;
      const pfn = (r.paddr + (offset - base)) / PAGE_SIZE;
      if (pfn % 2 ** order !== 0) return EAGAIN;
      return pfn;
    }
    base += r.len;
  }
  return order > 0 ? ERANGE : EFAULT;
}

/**
 * What a VFIO BAR VMA's vm_private_data is under these designs: a VFIO dma-buf (dmabuf-backed, and
 * shared-base for exported buffers), or shared-base's dummy for the device file, which covers the
 * whole region, is never revoked and points to itself.
 */
export interface MmapBase {
  vdev: VfioPciCoreDevice | null;
  readonly physVec: PhysVec[];
  readonly size: number;
  vmaPgoffAdjust: number;
  /** The dma-buf, or null for shared-base's dummy. */
  readonly dmabuf: DmaBuf | null;
  revoked: boolean;
}

/** shared-base: the device file's dummy base object for one BAR region. */
export function sharedBaseDummy(vdev: VfioPciCoreDevice, index: number): MmapBase {
  const bar = vdev.pdev.bars[index]!;
  return {
    vdev,
    physVec: [{ paddr: bar.phys, len: bar.size }],
    size: bar.size,
    vmaPgoffAdjust: index * 2 ** 28,
    dmabuf: null,
    revoked: false,
  };
}

/** Step 1: the pfn from the single range the mmap made (no range walk yet). */
function singleRangePfn(priv: MmapBase, vma: Vma, addr: number, order: number): number {
  const size = PAGE_SIZE * 2 ** order;
  const aligned = addr - (addr % size);
  const first = priv.physVec[0]!.paddr / PAGE_SIZE + (vma.pgoff - priv.vmaPgoffAdjust);
  const pfn = first + (aligned - vma.start) / PAGE_SIZE;
  if (!isAlignedForOrder(vma, aligned, pfn, order)) return order > 0 ? EAGAIN : EFAULT;
  return pfn;
}

// model-only: the use-after-free check of an access to the driver's vfio_device.
/** The driver's vfio_device is still allocated: an access after the free is a use-after-free. */
function* vfioDeviceAccess(dev: VfioDevice, what: string): Thread<void> {
  if (yield* dev.freed.read()) {
    throw new Violation(
      'USE_AFTER_FREE',
      `${what} on ${dev.name} after vfio_unregister_group_dev() freed it`,
    );
  }
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_mmap_huge_fault() (the proposal's, on a dma-buf vm_file)
/**
 * The common fault handler of the proposal (vfio_pci_mmap_huge_fault() on a dma-buf vm_file, v3
 * 7/9; shared-base: the one vm_ops both files use). Before step 3 it behaves as v7.1 (memory_lock,
 * memory enabled) with the buffer's device. From step 3: under resv check the status and take a
 * registration (the buffer being live implies its device is), drop resv, take memory_lock for
 * read, re-check the status, find the pfn, insert (vfio_pci_vmf_insert_pfn checks memory enabled
 * and low power again), release. Which checks run is the `revokeCheck` option; whether the device
 * is pinned is `faultPinsDevice`.
 */
export function* vfioPciDmaBufMmapFault(vmf: VmFault, order: number): Thread<number> {
  const vma = vmf.vma;
  const priv = vma.privateData as MmapBase;
  const design = priv.vdev?.machine.design.options ?? (priv as VfioPciDmaBuf).design;
  const step = design.mmapScheme === 'dmabuf' ? design.step : 5;
  const translate = () =>
    step >= 2
      ? vfioPciDmaBufFindPfn(priv, vma, vmf.address, order)
      : singleRangePfn(priv, vma, vmf.address, order);
  const insert = function* (vdev: VfioPciCoreDevice): Thread<number> {
    const pfn = translate();
    if (pfn === EAGAIN || pfn === ERANGE) return VM_FAULT_FALLBACK;
    if (pfn < 0) return VM_FAULT_SIGBUS; // an order-0 miss: WARN and SIGBUS
    return yield* vfioPciVmfInsertPfn(vdev, vmf, pfn, order);
  };
  if (step < 3 || priv.dmabuf === null) {
    // v7.1's handler with the buffer's (or the dummy's) device; the VMA keeps the device alive.
    const vdev = priv.vdev;
    if (!vdev) return VM_FAULT_SIGBUS;
    const pfn = translate();
    if (pfn === EAGAIN || pfn === ERANGE) return VM_FAULT_FALLBACK;
    yield* vdev.memoryLock.downRead();
    const ret = pfn < 0 ? VM_FAULT_SIGBUS : yield* vfioPciVmfInsertPfn(vdev, vmf, pfn, order);
    yield* vdev.memoryLock.upRead();
    return ret;
  }
  const buf = priv.dmabuf;
  let vdev: VfioPciCoreDevice | null;
  let pinned = false;
  if (design.revokeCheck !== 'memory_lock') {
    // 1. Under resv: a revoked buffer is SIGBUS; a live one has a live device.
    // A base with a dma-buf is the buffer's vfio_pci_dma_buf: priv->revoked and priv->vdev are
    // loads of its words (events), so this section touches only objects.
    // The section reads two words changed only under resv and takes one scoped reference: a
    // read-only section (Mutex.lockReadOnly), so two faults' sections are not explored in both orders.
    const bufPriv = priv as VfioPciDmaBuf;
    yield* buf.resv.lock.lockReadOnly();
    if (yield* bufPriv.revokedWord.read()) {
      yield* buf.resv.lock.unlockReadOnly();
      return VM_FAULT_SIGBUS;
    }
    vdev = yield* bufPriv.vdevField.read();
    // 2. Pin the device (vfio_device_try_get_registration), then drop resv.
    if (vdev && design.faultPinsDevice) pinned = yield* vfioDeviceTryGetRegistrationScoped(vdev.vdev);
    yield* buf.resv.lock.unlockReadOnly();
    if (!vdev || (design.faultPinsDevice && !pinned)) return VM_FAULT_SIGBUS;
  } else {
    // No resv step: priv->vdev is read as it is (it becomes NULL at cleanup, under both locks).
    vdev = priv.vdev;
    if (!vdev) return VM_FAULT_SIGBUS;
    if (design.faultPinsDevice) {
      // Nothing held guarantees the device is still allocated: the refcount itself may be gone.
      yield* vfioDeviceAccess(vdev.vdev, 'vfio_device_try_get_registration() in the fault path');
      pinned = yield* vfioDeviceTryGetRegistrationScoped(vdev.vdev);
      if (!pinned) return VM_FAULT_SIGBUS;
    }
  }
  // 3. scoped_guard(rwsem_read, &vdev->memory_lock): re-check, find the pfn, insert.
  yield* vfioDeviceAccess(vdev.vdev, 'down_read(&vdev->memory_lock) in the fault path');
  yield* vdev.memoryLock.downRead();
  let ret: number;
  if (design.revokeCheck !== 'resv' && priv.revoked) ret = VM_FAULT_SIGBUS;
  else ret = yield* insert(vdev);
  yield* vdev.memoryLock.upRead();
  // 4. Drop the registration.
  if (pinned) yield* vfioDevicePutRegistrationScoped(vdev.vdev);
  return ret;
}

/** The common vm_ops (vfio_pci_mmap_ops on a dma-buf): .fault, and .huge_fault where the arch has it. */
export function vfioPciDmaBufMmapOps(vdev: VfioPciCoreDevice, mapped = false): VmOperations {
  const opts = vdev.machine.design.options;
  const huge = (vdev.machine.arch.pmdSpecial || !opts.hugeFaultArchGuard) && opts.hugeFault;
  return {
    name: 'vfio_pci_mmap_ops',
    fault: (vmf) => vfioPciDmaBufMmapFault(vmf, 0),
    ...(huge ? { hugeFault: (vmf: VmFault, order: number) => vfioPciDmaBufMmapFault(vmf, order) } : {}),
    ...(mapped ? { mapped: (vma: Vma) => vfioPciMmapMapped(vdev, vma) } : {}),
  };
}

/** vfio_pci_core_mmap()'s VMA flags, on a descriptor or a VMA. */
function setupFlags(flags: number): number {
  return setFlags(flags, VM_ALLOW_ANY_UNCACHED | VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_mmap() as every revision posted it (the legacy
 * f_op->mmap): every check of v7.1's vfio_pci_core_mmap(), then vfio_pci_core_mmap_prep_dmabuf()
 * makes a one-range buffer, exports it with a registration and lists it on the device with
 * `revoked = !memory_enabled`, and transfers ownership both ways without a get: the VMA's
 * reference on the device file becomes the buffer's (priv->vfile, put at release) and the
 * buffer's file becomes vm_file. Then vfio_pci_core_mmap()'s flags and the common vm_ops. The core links the VMA
 * afterwards, into vm_file's (the buffer's) address_space, at the vm_pgoff left here.
 */
export function* vfioPciCoreMmapDmabuf(dev: VfioDevice, vma: Vma): Thread<number> {
  const vdev = vfioPciCore(dev);
  const checked = yield* vfioPciMmapChecks(vdev, vma.pgoff, vma.start, vma.end, vma.flags);
  if (typeof checked === 'number') return checked;
  const regionPgoff = vma.pgoff;
  const layout = bufferLayout(vdev, regionPgoff, vma.end - vma.start);
  // v1 4/9 masks vm_pgoff to the page offset inside the BAR (the fix sets it to 0).
  vma.pgoff = layout.vmaPgoff;
  const priv = yield* prepDmabuf(vdev, pgoffToIndex(regionPgoff), layout);
  if (typeof priv === 'number') return priv;
  priv.vfile = vma.file as File;
  vma.file = priv.dmabuf.file;
  vma.privateData = priv;
  vma.pageProt = 'uc';
  vma.flags = setupFlags(vma.flags);
  vma.ops = vfioPciDmaBufMmapOps(vdev);
  return 0;
}

/**
 * The dma-buf a device-fd mmap makes, per revision: where it starts in the BAR, how long it is,
 * what vm_pgoff the VMA keeps and what the fault path subtracts from it (vma_pgoff_adjust).
 * - v1 3/9 and 4/9: vm_pgoff is masked to the page offset `off` inside the BAR; the buffer starts
 *   at the BAR's first byte and is `off` pages longer than the mapping (the part before the
 *   mapping is unreachable through it); no adjustment. The VMA is filed at [off, off + n), inside
 *   the revoke's zap of [0, size).
 * - v2 to v4: vm_pgoff keeps the region encoding (index << 28 | off); the buffer is the mapped span
 *   exactly; vma_pgoff_adjust makes the fault path's buffer offset start at 0 (v2-v4 subtract the
 *   masked offset and mask the region index away; the model subtracts the whole region pgoff, the
 *   same offset). The VMA is filed at pgoff (index << 28 | off), outside [0, n) unless it maps
 *   BAR0 from its first page.
 * - the fix `normalizePgoff`: the buffer as in v2-v4, and vm_pgoff 0.
 */
interface BufferLayout {
  paddr: number;
  len: number;
  vmaPgoff: number;
  adjust: number;
}

function bufferLayout(vdev: VfioPciCoreDevice, pgoff: number, len: number): BufferLayout {
  const o = vdev.machine.design.options;
  const bar = vdev.pdev.bars[pgoffToIndex(pgoff)]!;
  const off = pgoffInRegion(pgoff);
  if (o.normalizePgoff) return { paddr: bar.phys + off * PAGE_SIZE, len, vmaPgoff: 0, adjust: 0 };
  if (o.revision === 'v1') return { paddr: bar.phys, len: off * PAGE_SIZE + len, vmaPgoff: off, adjust: 0 };
  return { paddr: bar.phys + off * PAGE_SIZE, len, vmaPgoff: pgoff, adjust: pgoff };
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_mmap_prep_dmabuf(), moved to f_op->mmap_prepare
 * (mmapHook `mmap_prepare`, Jason Gunthorpe's step 1; no revision posted it): the same checks and
 * buffer; the buffer's file replaces desc->vm_file, handing over its reference, and the buffer takes
 * its own reference on the device file (the core took none for the VMA).
 */
export function* vfioPciCoreMmapPrepare(dev: VfioDevice, desc: VmAreaDesc): Thread<number> {
  const vdev = vfioPciCore(dev);
  const o = vdev.machine.design.options;
  const checked = yield* vfioPciMmapChecks(vdev, desc.pgoff, desc.start, desc.end, desc.flags);
  if (typeof checked === 'number') return checked;
  desc.pageProt = 'uc';
  desc.flags = setupFlags(desc.flags);
  if (o.mmapHook === 'mapped') {
    // The buffer is made in vm_ops->mapped, after the VMA was linked under the device file.
    desc.vmOps = vfioPciDmaBufMmapOps(vdev, true);
    desc.privateData = vdev;
    return 0;
  }
  const layout = bufferLayout(vdev, desc.pgoff, desc.end - desc.start);
  const priv = yield* prepDmabuf(vdev, pgoffToIndex(desc.pgoff), layout);
  if (typeof priv === 'number') return priv;
  desc.pgoff = layout.vmaPgoff;
  // priv->vfile: the buffer keeps the VFIO device file open until it is released.
  priv.vfile = yield* getFile(desc.file);
  desc.vmFile = priv.dmabuf.file;
  desc.vmOps = vfioPciDmaBufMmapOps(vdev);
  desc.privateData = priv;
  return 0;
}

// drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_mmap_prep_dmabuf() — the buffer and its export
function* prepDmabuf(
  vdev: VfioPciCoreDevice,
  index: number,
  layout: BufferLayout,
): Thread<VfioPciDmaBuf | number> {
  const priv = yield* vfioPciDmaBufCreate(
    vdev,
    [{ paddr: layout.paddr, len: layout.len }],
    layout.len,
    `dmabuf:${vdev.pdev.name}/BAR${index}`,
    {
      ownMapping: ownAddressSpace(vdev),
    },
  );
  if (typeof priv === 'number') return priv;
  priv.vmaPgoffAdjust = layout.adjust;
  return priv;
}

// model-only: the `mapped` variant of the proposal's mmap (the buffer made in vm_ops->mapped).
/**
 * The `mapped` variant: vm_ops->mapped(vma) makes the buffer once the VMA exists and swaps it in as
 * vm_file (as the legacy mmap path of v3 did). The VMA stays linked where the core linked it — the
 * device file's address_space, at the region-encoded pgoff — so the buffer's own zap cannot find it.
 */
function* vfioPciMmapMapped(vdev: VfioPciCoreDevice, vma: Vma): Thread<number> {
  const index = pgoffToIndex(vma.pgoff);
  // The VMA is already linked at its region-encoded pgoff: the buffer is the mapped span.
  const len = vma.end - vma.start;
  const bar = vdev.pdev.bars[index]!;
  const paddr = bar.phys + pgoffInRegion(vma.pgoff) * PAGE_SIZE;
  const priv = yield* prepDmabuf(vdev, index, { paddr, len, vmaPgoff: vma.pgoff, adjust: vma.pgoff });
  if (typeof priv === 'number') return priv;
  // Ownership transfer: the VMA's reference on the device file becomes the buffer's.
  priv.vfile = vma.file as File;
  vma.file = priv.dmabuf.file;
  vma.privateData = priv;
  vma.ops = vfioPciDmaBufMmapOps(vdev);
  return 0;
}

/**
 * drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_mmap() (step 5) — dma_buf_ops.mmap of an
 * exported buffer. Every revision (v1 7/9 to v4 08/10) tests the revoke state first: a buffer
 * revoked for now, for good, or by cleanup (which revokes before it clears priv->vdev) gives
 * -ENODEV ("belt-and-braces" in v3/v4); then -EINVAL without VM_SHARED. (v1 also re-checked the span
 * against the size, -EINVAL, which dma_buf_mmap_internal() has already checked; v2 dropped it.)
 * vfio_pci_core_mmap()'s flags with the buffer's mapping attribute; the common vm_ops. The VMA lives in the
 * buffer's own address_space (step 4) or the shared one.
 */
export function* vfioPciDmaBufMmap(buf: DmaBuf, vma: Vma): Thread<number> {
  const priv = buf.priv as VfioPciDmaBuf;
  const vdev = priv.vdev;
  if (priv.revoked || !vdev) return ENODEV;
  if (!hasFlag(vma.flags, VM_SHARED)) return EINVAL;
  vma.pageProt = priv.memattr;
  vma.flags = setupFlags(vma.flags);
  vma.privateData = priv;
  vma.ops = vfioPciDmaBufMmapOps(vdev);
  return 0;
}

/**
 * The step-5 dma_buf_ops.mmap, or none (dma_buf_mmap_internal() then returns -EINVAL). It is a
 * member of the static vfio_pci_dmabuf_ops: it stays after cleanup cleared the buffer's device.
 */
export function dmabufMmapOp(
  o: VfioPciCoreDevice['machine']['design']['options'],
): ((buf: DmaBuf, vma: Vma) => Thread<number>) | undefined {
  const backed = o.mmapScheme === 'dmabuf' || o.mmapScheme === 'shared-base';
  const step = o.mmapScheme === 'dmabuf' ? o.step : 5;
  return backed && step >= 5 ? vfioPciDmaBufMmap : undefined;
}

// drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_dma_buf_move() (the proposal's step-4 CPU zap of one buffer)
/**
 * The revoke's CPU side (step 4, "Convert BAR mmap() to use a DMABUF"): after the importers are
 * drained, unmap_mapping_range(priv->dmabuf->file->f_mapping, 0, priv->size) — buffer offsets
 * [0, size), whatever vm_pgoff the VMAs carry. With one shared address_space (shared-base, or
 * `addressSpace: shared`) the buffer's VMAs cannot be told apart: every BAR mapping is zapped.
 */
export function* vfioPciDmaBufZap(priv: VfioPciDmaBuf): Thread<void> {
  const vdev = priv.vdev;
  if (!vdev || !dmabufBacked(vdev)) return;
  if (ownAddressSpace(vdev)) {
    yield* unmapMappingRange(priv.dmabuf.file.mapping, 0, priv.size);
  } else if (stepOf(vdev) >= 4) {
    yield* unmapMappingRange(vdev.vdev.inode.mapping, 0, 0);
  }
}

// drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_feature_dma_buf_revoke() (the proposal)
/**
 * VFIO_DEVICE_FEATURE_DMA_BUF_REVOKE (8/9): permanently revoke one of this device's buffers.
 * -ENOTTY where the feature does not exist, -ENODEV for a file that is not a VFIO dma-buf of this
 * device, -EBADFD if already permanent. Under memory_lock (write): a live buffer is revoked (with
 * the drain and the zap; this may block on importers); a temporarily revoked one is not drained
 * again. PERM is absorbing: no unrevoke clears it.
 */
export function* vfioPciCoreFeatureDmaBufRevoke(
  vdev: VfioPciCoreDevice,
  file: File | undefined,
): Thread<number> {
  if (!vdev.machine.design.options.permanentRevoke) return ENOTTY;
  const buf = file?.fop.name === 'dma_buf_fops' ? (file.privateData as DmaBuf) : undefined;
  const priv = buf?.priv as VfioPciDmaBuf | undefined;
  if (!priv || !vdev.dmabufs.includes(priv)) return ENODEV;
  yield* vdev.memoryLock.downWrite();
  let ret = 0;
  if (priv.perm) ret = EBADFD;
  else {
    if (!priv.revoked) yield* vfioPciDmaBufRevokeOne(priv);
    priv.perm = true;
  }
  yield* vdev.memoryLock.upWrite();
  return ret;
}

// drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_feature_dma_buf_memattr() (the proposal)
/** VFIO_DEVICE_FEATURE_DMA_BUF_MEMATTR (9/9): UC or WC for *future* mmaps of the buffer. */
export function vfioPciCoreFeatureDmaBufMemattr(
  vdev: VfioPciCoreDevice,
  file: File | undefined,
  attr: 'uc' | 'wc',
): number {
  if (!dmabufBacked(vdev) || stepOf(vdev) < 5) return ENOTTY;
  const buf = file?.fop.name === 'dma_buf_fops' ? (file.privateData as DmaBuf) : undefined;
  const priv = buf?.priv as VfioPciDmaBuf | undefined;
  if (!priv || !vdev.dmabufs.includes(priv)) return ENODEV;
  priv.memattr = attr;
  return 0;
}

export { PMD_ORDER, PUD_ORDER };
