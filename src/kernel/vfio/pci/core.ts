// The VFIO-PCI core (drivers/vfio/pci/vfio_pci_core.c, include/linux/vfio_pci_core.h): BAR mmap
// through the device fd, its fault handlers, memory_lock, and the CPU zap of every BAR mapping
// (docs/vfio-pci.md, "vfio-pci core"), with the dma-buf half of each revoke site (vfio_pci_dma_buf_move).

import { Cell } from '../../../sched/cell.js';
import { Mutex } from '../../../sched/mutex.js';
import type { Thread } from '../../../sched/program.js';
import { RwSem } from '../../../sched/rwsem.js';
import type { Machine } from '../../machine.js';
import { PAGE_SHIFT, PAGE_SIZE, PMD_ORDER, PUD_ORDER } from '../../mm/arch.js';
import { vmfInsertPfnPmd, vmfInsertPfnPud } from '../../mm/huge_memory.js';
import { remapPfnRange, unmapMappingRange, vmfInsertPfn } from '../../mm/memory.js';
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
  type Vma,
  type VmFault,
  type VmOperations,
} from '../../mm/mm_types.js';
import {
  PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_MEMORY,
  type PciBar,
  type PciDev,
  type PowerState,
  pciEnableDevice,
  pciSetPowerState,
  pciTryResetFunction,
  pciWriteCommand,
} from '../../pci/pci.js';
import { VfioDevice } from '../vfio_main.js';
import {
  type VfioPciDmaBuf,
  vfioPciCoreFeatureDmaBuf,
  vfioPciCoreGetDmabufPhys,
  vfioPciDmaBufCleanup,
  vfioPciDmaBufMove,
} from './dmabuf.js';
import {
  sharedBaseDummy,
  vfioPciCoreFeatureDmaBufMemattr,
  vfioPciCoreFeatureDmaBufRevoke,
  vfioPciDmaBufMmapOps,
} from './dmabuf_mmap.js';
import type { VfioPciDeviceOps, VfioPciDevOps, VfioPciFeature, VfioPciIoctl } from './driver.js';
import { vfioPciOps } from './vfio_pci.js';
import { vfioPciMmapOpsVmaList, vfioPciZapAndVmaLock, vmaListPgoff } from './vma_list.js';

export const EINVAL = -22;
export const EBUSY = -16;
export const ENOTTY = -25;

/** include/linux/vfio_pci_core.h: VFIO_PCI_OFFSET_SHIFT. */
export const VFIO_PCI_OFFSET_SHIFT = 40;
/** include/uapi/linux/vfio.h: region indices. */
export const VFIO_PCI_BAR0_REGION_INDEX = 0;
export const VFIO_PCI_ROM_REGION_INDEX = 6;
export const VFIO_PCI_NUM_REGIONS = 9;
/** VFIO_PCI_INDEX_TO_OFFSET(i): i << 40 (a number: JavaScript shifts are 32-bit). */
export const indexToOffset = (i: number): number => i * 2 ** VFIO_PCI_OFFSET_SHIFT;
/** The region index in a VMA's vm_pgoff: vm_pgoff >> (40 - PAGE_SHIFT). */
const PGOFF_INDEX_SHIFT = 2 ** (VFIO_PCI_OFFSET_SHIFT - PAGE_SHIFT);
export const pgoffToIndex = (pgoff: number): number => Math.floor(pgoff / PGOFF_INDEX_SHIFT);
export const pgoffInRegion = (pgoff: number): number => pgoff % PGOFF_INDEX_SHIFT;

/** struct vfio_pci_core_device: the parts the model needs. */
export class VfioPciCoreDevice {
  readonly vdev: VfioDevice;
  /** vdev->memory_lock. */
  readonly memoryLock: RwSem;
  /** The virtual PCI_COMMAND in vdev->vconfig (what user space wrote, emulated). */
  readonly vconfigCommand: Cell<number>;
  /** vdev->pm_runtime_engaged: the low-power feature is on. */
  readonly pmRuntimeEngaged: Cell<boolean>;
  /** vdev->bar_mmap_supported[], set by vfio_pci_probe_mmaps() at enable. */
  barMmapSupported: boolean[] = [];
  /**
   * vdev->dmabufs: the live exported dma-bufs (plain data, changed under memory_lock for write, or
   * under dmabufLock with the proposal's `exportLock: none`).
   */
  readonly dmabufs: VfioPciDmaBuf[] = [];
  /**
   * The proposal after v5 (`exportLock: none`): vdev->dmabuf_lock guards the list and a shadow of
   * the revoke state (`revokedShadow`, plain data under it), so that a buffer made inside mmap()
   * (mmap_lock held for write) is listed without memory_lock.
   */
  readonly dmabufLock: Mutex;
  revokedShadow = false;
  /** vdev->vma_lock and vdev->vma_list (the vma_list era, v5.8 to v6.9; plain list under the lock). */
  readonly vmaLock: Mutex;
  readonly vmaList: Vma[] = [];
  /** vdev->barmap[]: BAR regions claimed (pci_request_selected_regions + pci_iomap). */
  readonly barmap: Cell<readonly boolean[]>;
  /** The driver's vfio_device_ops (vdev->vdev.ops): vfio-pci's, or a variant driver's. */
  readonly ops: VfioPciDeviceOps;
  /** vdev->pci_ops: the driver's struct vfio_pci_device_ops. */
  readonly pciOps: VfioPciDevOps;

  constructor(
    readonly machine: Machine,
    readonly pdev: PciDev,
    /** The driver's ops (vfio_alloc_device(..., ops)); vfio-pci's when left out. */
    ops?: VfioPciDeviceOps,
    pciOps?: VfioPciDevOps,
    /** False when the driver's probe failed: the device is never registered with VFIO. */
    registered = true,
  ) {
    this.ops = ops ?? vfioPciOps;
    this.pciOps = pciOps ?? { getDmabufPhys: vfioPciCoreGetDmabufPhys };
    this.vdev = new VfioDevice(pdev.name, this.ops, machine.design.options.coreEra, registered);
    this.vdev.drv = this;
    this.memoryLock = new RwSem(`${pdev.name}.memory_lock`, { lockClass: 'memory_lock' });
    this.vconfigCommand = new Cell(`${pdev.name}.vconfig.PCI_COMMAND`, 0, {
      show: (v) => `0x${v.toString(16)}`,
    });
    this.pmRuntimeEngaged = new Cell(`${pdev.name}.pm_runtime_engaged`, false);
    this.vmaLock = new Mutex(`${pdev.name}.vma_lock`, { lockClass: 'vma_lock', guardsPlainData: true });
    this.dmabufLock = new Mutex(`${pdev.name}.dmabuf_lock`, {
      lockClass: 'dmabuf_lock',
      guardsPlainData: true,
    });
    this.barmap = new Cell<readonly boolean[]>(`${pdev.name}.barmap`, []);
  }
}

export const vfioPciCore = (dev: VfioDevice): VfioPciCoreDevice => dev.drv as VfioPciCoreDevice;

// drivers/vfio/pci/vfio_pci_config.c: __vfio_pci_memory_enabled() — "Caller should hold
// memory_lock semaphore": D0..D3hot(excluded) and the memory bit of the *virtual* command register
// (or a VF, which has none). Before 2b2c651baf1c (v5.19; coreEra v5) only the command bit counted.
export function* vfioPciMemoryEnabled(vdev: VfioPciCoreDevice): Thread<boolean> {
  // pdev->current_state < PCI_D3hot
  if (vdev.machine.design.options.coreEra === 'v6' && (yield* vdev.pdev.hw.read()).power !== 'D0')
    return false;
  if (vdev.pdev.noCommandMemory) return true;
  return ((yield* vdev.vconfigCommand.read()) & PCI_COMMAND_MEMORY) !== 0;
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_probe_mmaps() (BARs of at least a page; the model's
// BARs are all IORESOURCE_MEM, and pdev->non_mappable_bars is never set)
function probeMmaps(vdev: VfioPciCoreDevice): void {
  vdev.barMmapSupported = [];
  for (let i = 0; i < 6; i++) {
    const bar = vdev.pdev.bars[i];
    vdev.barMmapSupported[i] = bar !== undefined && bar.size >= PAGE_SIZE;
  }
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_enable() (the parts that matter here; its
// pci_try_reset_function() is left out — vfioPciCoreEnableReset() — since nothing reaches a device
// while its first open holds dev_set->lock; only a driver's .reset_done would notice it)
export function* vfioPciCoreEnable(dev: VfioDevice): Thread<number> {
  const vdev = vfioPciCore(dev);
  yield* pciSetPowerState(vdev.pdev, 'D0');
  yield* pciEnableDevice(vdev.pdev, true);
  // vfio_config_init(): vconfig starts as a copy of the device's config space.
  yield* vdev.vconfigCommand.write((yield* vdev.pdev.hw.read()).command);
  probeMmaps(vdev);
  return 0;
}

/**
 * model-only: the pci_try_reset_function() that vfio_pci_core_enable() makes after
 * pci_enable_device() (its result is vdev->reset_works), which vfioPciCoreEnable() leaves out. A
 * driver with a .reset_done (nvgrace-gpu) runs it right after the enable: nothing reaches the device
 * in between (the open holds dev_set->lock and its fd does not exist yet), and the command register
 * the enable copied into vconfig is the one the reset restores.
 */
export function* vfioPciCoreEnableReset(vdev: VfioPciCoreDevice): Thread<void> {
  yield* pciTryResetFunction(vdev.pdev);
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_disable() — the parts with an effect on BAR
 * access: runtime-PM exit, D0, release regions and barmaps, the command register written to
 * INTX_DISABLE (memory decode off in hardware), a reset when possible, pci_disable_device.
 */
function* vfioPciCoreDisable(vdev: VfioPciCoreDevice): Thread<void> {
  // vfio_pci_runtime_pm_exit(): under memory_lock; after cleanup the dma-buf list is empty. (v6.1's
  // low-power feature; the model's v6 designs all have it.)
  yield* vdev.memoryLock.downWrite();
  yield* vfioPciRuntimePmExitAndUnrevoke(vdev);
  yield* vdev.memoryLock.upWrite();
  yield* pciSetPowerState(vdev.pdev, 'D0');
  yield* vdev.barmap.write([]);
  yield* pciWriteCommand(vdev.pdev, PCI_COMMAND_INTX_DISABLE);
  yield* pciTryResetFunction(vdev.pdev);
  yield* pciEnableDevice(vdev.pdev, false);
}

/**
 * drivers/vfio/pci/vfio_pci.c (v5.7 to v5.14): vfio_pci_disable() — the v5 era's disable: no
 * memory_lock, no low-power exit and no D0 first (both came in v5.19/v6.1); release the BARs, write
 * the command register to INTX_DISABLE (decode off), reset when possible, pci_disable_device.
 */
function* vfioPciDisable(vdev: VfioPciCoreDevice): Thread<void> {
  yield* vdev.barmap.write([]);
  yield* pciWriteCommand(vdev.pdev, PCI_COMMAND_INTX_DISABLE);
  yield* pciTryResetFunction(vdev.pdev);
  yield* pciEnableDevice(vdev.pdev, false);
}

/**
 * drivers/vfio/pci/vfio_pci.c (v5.7 to v5.14): vfio_pci_release() — vfio-pci serialises open and
 * release itself, on vdev->reflck->lock (the model's devSetLock, with that lock class in the v5
 * era): the last release disables the device.
 */
export function* vfioPciRelease(dev: VfioDevice): Thread<void> {
  const vdev = vfioPciCore(dev);
  yield* dev.devSetLock.lock();
  const n = yield* dev.openCount.read();
  if (n === 1) yield* vfioPciDisable(vdev);
  yield* dev.openCount.write(n - 1);
  yield* dev.devSetLock.unlock();
}

// drivers/vfio/pci/vfio_pci.c (v5.7 to v5.14): vfio_pci_enable() — the v5 era's name for the same
// steps as vfio_pci_core_enable(): D0, enable, the virtual config from the device, probe mmaps.
function* vfioPciEnable(vdev: VfioPciCoreDevice): Thread<number> {
  yield* pciSetPowerState(vdev.pdev, 'D0');
  yield* pciEnableDevice(vdev.pdev, true);
  yield* vdev.vconfigCommand.write((yield* vdev.pdev.hw.read()).command);
  probeMmaps(vdev);
  return 0;
}

/**
 * drivers/vfio/pci/vfio_pci.c (v5.7 to v5.14): vfio_pci_open() — under reflck->lock, the first
 * open enables the device (vfio_pci_enable()).
 */
export function* vfioPciOpen(dev: VfioDevice): Thread<number> {
  yield* dev.devSetLock.lock();
  const n = yield* dev.openCount.read();
  if (n === 0) {
    const err = yield* vfioPciEnable(vfioPciCore(dev));
    if (err !== 0) {
      yield* dev.devSetLock.unlock();
      return err;
    }
  }
  yield* dev.openCount.write(n + 1);
  yield* dev.devSetLock.unlock();
  return 0;
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_close_device(). v7.1 cleans the dma-bufs up
// *before* disabling the function (d97708701434; v6.19 to v7.0.9 did it after, CVE-2026-53322).
// No CPU zap is needed: no VMA can exist here, each holds the device file.
// Before v6.19 there are no dma-bufs to clean up.
export function* vfioPciCoreCloseDevice(dev: VfioDevice): Thread<void> {
  const vdev = vfioPciCore(dev);
  if (!vdev.machine.design.options.dmabufExport) {
    yield* vfioPciCoreDisable(vdev);
    return;
  }
  if (vdev.machine.design.options.closeOrder === 'cleanup-first') {
    yield* vfioPciDmaBufCleanup(vdev);
    yield* vfioPciCoreDisable(vdev);
  } else {
    // v6.19 to v7.0.9: importers keep valid mappings while the function is disabled.
    yield* vfioPciCoreDisable(vdev);
    yield* vfioPciDmaBufCleanup(vdev);
  }
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_setup_barmap() — claim the BAR once.
export function* setupBarmap(vdev: VfioPciCoreDevice, index: number): Thread<number> {
  yield* vdev.barmap.rmw((m) => {
    const n = [...m];
    n[index] = true;
    return [n, undefined];
  });
  return 0;
}

/** include/linux/vfio_pci_core.h: is_aligned_for_order() */
/**
 * The first part of vfio_pci_mmap_huge_fault(), which reads nothing shared: the block's address and
 * pfn, and whether the order fits (else VM_FAULT_FALLBACK before any lock).
 */
function hugeFaultBlock(
  vdev: VfioPciCoreDevice,
  vmf: VmFault,
  order: number,
): { addr: number; pfn: number; aligned: boolean } {
  const vma = vmf.vma;
  const design = vdev.machine.design.options;
  const size = PAGE_SIZE * 2 ** order;
  // Before c1d9dac0db16 (v6.12 to v6.15-rc5) vmf->address was used as it came; the fix rounds it
  // down to the block, so that every fault in a block asks for the same leaf.
  const addr = design.hugeFaultRoundsAddress ? vmf.address - (vmf.address % size) : vmf.address;
  const pfn = vmaToPfn(vdev, vma) + (addr - vma.start) / PAGE_SIZE;
  const aligned = design.hugeFaultChecksPfnAlignment
    ? isAlignedForOrder(vma, addr, pfn, order)
    : // f9e54c3a2f5b: a VA-aligned block inside the VMA; no pfn check (09dfc8a5f2ce added it).
      order === 0 || (addr % size === 0 && addr >= vma.start && addr + size <= vma.end);
  return { addr, pfn, aligned };
}

export function isAlignedForOrder(vma: Vma, addr: number, pfn: number, order: number): boolean {
  if (order === 0) return true;
  const size = PAGE_SIZE * 2 ** order;
  return addr >= vma.start && addr + size <= vma.end && pfn % 2 ** order === 0;
}

/** vma_to_pfn(): the BAR's first pfn plus the page offset in the region. */
function vmaToPfn(vdev: VfioPciCoreDevice, vma: Vma): number {
  const bar = vdev.pdev.bars[pgoffToIndex(vma.pgoff)]!;
  return Math.floor(bar.phys / PAGE_SIZE) + pgoffInRegion(vma.pgoff);
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_vmf_insert_pfn() — with memory_lock held for read:
 * SIGBUS when the device is in low power or memory is disabled, otherwise insert at the order.
 */
export function* vfioPciVmfInsertPfn(
  vdev: VfioPciCoreDevice,
  vmf: VmFault,
  pfn: number,
  order: number,
): Thread<number> {
  if (vdev.memoryLock.readerCount === 0)
    throw new Error('BUG: vfio_pci_vmf_insert_pfn() without memory_lock held');
  if ((yield* vdev.pmRuntimeEngaged.read()) || !(yield* vfioPciMemoryEnabled(vdev))) return VM_FAULT_SIGBUS;
  if (order === 0) return yield* vmfInsertPfn(vmf.vma, vmf.address, pfn);
  if (order === PMD_ORDER) return yield* vmfInsertPfnPmd(vmf, pfn, false);
  if (order === PUD_ORDER) return yield* vmfInsertPfnPud(vmf, pfn, false);
  return VM_FAULT_FALLBACK;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_mmap_huge_fault() — the block address and pfn for the
 * order; an unaligned block or pfn is FALLBACK without a lock; otherwise the insert runs under
 * memory_lock held for read. vfio_pci_mmap_page_fault() is the same at order 0.
 */
export function* vfioPciMmapHugeFault(vmf: VmFault, order: number): Thread<number> {
  const vma = vmf.vma;
  const vdev = vma.privateData as VfioPciCoreDevice;
  const design = vdev.machine.design.options;
  const { pfn, aligned } = hugeFaultBlock(vdev, vmf, order);
  if (!aligned) return VM_FAULT_FALLBACK;
  yield* vdev.memoryLock.downRead();
  let ret: number;
  if (design.dmabufExport) {
    ret = yield* vfioPciVmfInsertPfn(vdev, vmf, pfn, order);
  } else {
    // v6.12 as shipped did the checks and the insert inline (vfio_pci_vmf_insert_pfn() was split
    // out later; the model has the helper only on the dma-buf designs, v6.19 on).
    if ((yield* vdev.pmRuntimeEngaged.read()) || !(yield* vfioPciMemoryEnabled(vdev))) ret = VM_FAULT_SIGBUS;
    else if (order === 0) ret = yield* vmfInsertPfn(vmf.vma, vmf.address, pfn);
    else if (order === PMD_ORDER) ret = yield* vmfInsertPfnPmd(vmf, pfn, false);
    else if (order === PUD_ORDER) ret = yield* vmfInsertPfnPud(vmf, pfn, false);
    else ret = VM_FAULT_FALLBACK;
  }
  yield* vdev.memoryLock.upRead();
  return ret;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c (v6.10 and v6.11): vfio_pci_mmap_fault() — the inode era before
 * huge faults: the pfn of the faulting page, then under memory_lock for read SIGBUS when the device
 * is in low power or memory is disabled, else vmf_insert_pfn() of that one page.
 */
export function* vfioPciMmapFault(vmf: VmFault): Thread<number> {
  const vma = vmf.vma;
  const vdev = vma.privateData as VfioPciCoreDevice;
  const addr = vmf.address - (vmf.address % PAGE_SIZE);
  const pfn = vmaToPfn(vdev, vma) + (addr - vma.start) / PAGE_SIZE;
  yield* vdev.memoryLock.downRead();
  let ret = VM_FAULT_SIGBUS;
  if (!(yield* vdev.pmRuntimeEngaged.read()) && (yield* vfioPciMemoryEnabled(vdev)))
    ret = yield* vmfInsertPfn(vma, addr, pfn);
  yield* vdev.memoryLock.upRead();
  return ret;
}

/**
 * vfio_pci_mmap_ops: .fault always; .huge_fault only under CONFIG_ARCH_SUPPORTS_HUGE_PFNMAP, which
 * an arch selects only if its PMD (and, for PUD, PUD) leaves have a special bit (mm/Kconfig;
 * docs/mm.md, "Architecture profiles").
 */
export function vfioPciMmapOps(vdev: VfioPciCoreDevice): VmOperations {
  const opts = vdev.machine.design.options;
  const huge = (vdev.machine.arch.pmdSpecial || !opts.hugeFaultArchGuard) && opts.hugeFault;
  return {
    name: 'vfio_pci_mmap_ops',
    // Before v6.12 (hugeFault off) .fault was vfio_pci_mmap_fault(); from v6.12 it is
    // vfio_pci_mmap_page_fault(), huge_fault at order 0.
    fault: vdev.machine.design.options.hugeFault ? (vmf) => vfioPciMmapHugeFault(vmf, 0) : vfioPciMmapFault,
    ...(huge
      ? {
          hugeFault: (vmf: VmFault, order: number) => vfioPciMmapHugeFault(vmf, order),
          hugeFaultFallsBack: (vmf: VmFault, order: number) => !hugeFaultBlock(vdev, vmf, order).aligned,
        }
      : {}),
  };
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_mmap() — every check in order,
 * then the BAR claimed once. Returns the BAR, or -errno. The proposal keeps all of them (docs/designs.md).
 */
export function* vfioPciMmapChecks(
  vdev: VfioPciCoreDevice,
  pgoff: number,
  start: number,
  end: number,
  flags: number,
): Thread<PciBar | number> {
  const index = pgoffToIndex(pgoff);
  // 1. index beyond the regions (the model's devices have no device-specific regions).
  if (index >= VFIO_PCI_NUM_REGIONS) return EINVAL;
  // 2. vm_end < vm_start.
  if (end < start) return EINVAL;
  // 3. MAP_SHARED only.
  if (!hasFlag(flags, VM_SHARED)) return EINVAL;
  // 4. (device-specific regions: none) 5. ROM, config and VGA cannot be mapped.
  if (index >= VFIO_PCI_ROM_REGION_INDEX) return EINVAL;
  // 6. vdev->bar_mmap_supported[index].
  if (!vdev.barMmapSupported[index]) return EINVAL;
  // 7. req_start + req_len > PAGE_ALIGN(pci_resource_len).
  const bar = vdev.pdev.bars[index]!;
  const reqStart = pgoffInRegion(pgoff) * PAGE_SIZE;
  const reqLen = end - start;
  if (reqStart + reqLen > Math.ceil(bar.size / PAGE_SIZE) * PAGE_SIZE) return EINVAL;
  // 8. Claim the BAR once.
  const err = yield* setupBarmap(vdev, index);
  if (err !== 0) return err;
  return bar;
}

/**
 * drivers/vfio/pci/vfio_pci.c (v5.7 to v5.14): vfio_pci_mmap() — the v5 era's mmap: the same checks,
 * vm_pgoff rewritten to the BAR's first pfn; v5.7 populates the whole mapping now with
 * remap_pfn_range() and has no vm_ops, v5.8 on leave it to the vma_list fault.
 */
function* vfioPciMmap(dev: VfioDevice, vma: Vma): Thread<number> {
  const vdev = vfioPciCore(dev);
  const bar = yield* vfioPciMmapChecks(vdev, vma.pgoff, vma.start, vma.end, vma.flags);
  if (typeof bar === 'number') return bar;
  vma.privateData = vdev;
  vma.pageProt = 'uc';
  vma.flags = setFlags(vma.flags, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
  vma.pgoff = vmaListPgoff(bar.phys, pgoffInRegion(vma.pgoff));
  if (vdev.machine.design.options.mmapScheme === 'eager') {
    vma.ops = undefined;
    return yield* remapPfnRange(vma, vma.start, vma.pgoff, vma.end - vma.start);
  }
  vma.ops = vfioPciMmapOpsVmaList();
  return 0;
}

/** The device fd's mmap in either era (vfio_pci_core_mmap(), or v5's vfio_pci_mmap()). */
export const vfioDeviceMmap = (dev: VfioDevice, vma: Vma): Thread<number> =>
  vfioPciCore(dev).machine.design.options.coreEra === 'v5'
    ? vfioPciMmap(dev, vma)
    : vfioPciCoreMmap(dev, vma);

/** drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_mmap() — the checks, then the VMA setup. */
export function* vfioPciCoreMmap(dev: VfioDevice, vma: Vma): Thread<number> {
  const vdev = vfioPciCore(dev);
  const bar = yield* vfioPciMmapChecks(vdev, vma.pgoff, vma.start, vma.end, vma.flags);
  if (typeof bar === 'number') return bar;
  // VMA setup (the flags, vm_ops, vm_private_data). No PTE now: every page is populated by a fault.
  vma.privateData = vdev;
  vma.pageProt = 'uc';
  vma.flags = setFlags(vma.flags, VM_ALLOW_ANY_UNCACHED | VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
  const scheme = vdev.machine.design.options.mmapScheme;
  if (scheme === 'eager') {
    // v5.7's vfio_pci_mmap(): vm_pgoff becomes the first pfn and the whole mapping is populated
    // now with remap_pfn_range(); there are no vm_ops, and nothing will ever zap it.
    vma.pgoff = vmaListPgoff(bar.phys, pgoffInRegion(vma.pgoff));
    vma.ops = undefined;
    const err = yield* remapPfnRange(vma, vma.start, vma.pgoff, vma.end - vma.start);
    if (err !== 0) return err;
  } else if (scheme === 'vma-list') {
    // That era's vfio_pci_mmap() rewrote vm_pgoff to the first pfn, for io_remap_pfn_range().
    vma.pgoff = vmaListPgoff(bar.phys, pgoffInRegion(vma.pgoff));
    vma.ops = vfioPciMmapOpsVmaList();
  } else if (scheme === 'shared-base') {
    // Christian König's alternative: the device file's private data is a dummy base object over
    // the whole region, pointing to itself; the one vm_ops serves device and dma-buf VMAs alike.
    vma.privateData = sharedBaseDummy(vdev, bar.index);
    vma.ops = vfioPciDmaBufMmapOps(vdev);
  } else {
    vma.ops = vfioPciMmapOps(vdev);
  }
  return 0;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_zap_bars() — unmap_mapping_range() of BAR0..BAR5 on
 * the device inode's address_space: every BAR VMA of every fd of the device, no ROM.
 */
export function* vfioPciZapBars(vdev: VfioPciCoreDevice): Thread<void> {
  const start = indexToOffset(VFIO_PCI_BAR0_REGION_INDEX);
  const len = indexToOffset(VFIO_PCI_ROM_REGION_INDEX) - start;
  yield* unmapMappingRange(vdev.vdev.inode.mapping, start, len);
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_zap_and_down_write_memory_lock() — the lock first,
// then the zap, so no fault can refill a PTE before the caller changes the hardware.
// In the vma_list era (v5.8 to v6.9) the zap is vfio_pci_zap_and_vma_lock() and the lock is taken
// before vma_lock is dropped. v5.7 had neither function nor lock: no caller reaches this there.
export function* vfioPciZapAndDownWriteMemoryLock(vdev: VfioPciCoreDevice): Thread<void> {
  const scheme = vdev.machine.design.options.mmapScheme;
  if (scheme === 'eager')
    throw new Error('BUG: v5.7 has no memory_lock and no vfio_pci_zap_and_down_write_memory_lock()');
  if (scheme === 'vma-list') {
    yield* vfioPciZapAndVmaLock(vdev, false);
    yield* vdev.memoryLock.downWrite();
    yield* vdev.vmaLock.unlock();
    return;
  }
  yield* vdev.memoryLock.downWrite();
  if (zapsBars(vdev)) yield* vfioPciZapBars(vdev);
}

/**
 * model-only: whether the design has the device-wide CPU zap, vfio_pci_zap_bars() on the device
 * inode — always in v7.1 and shared-base, and in the dmabuf-backed progression until step 4 moves
 * the zap into each buffer's revoke (then only a variant driver's `zap_bars_on_revoke` keeps it).
 */
export function zapsBars(vdev: VfioPciCoreDevice): boolean {
  const o = vdev.machine.design.options;
  return !(o.mmapScheme === 'dmabuf' && o.step >= 4 && !o.zapBarsOnRevoke && !zapBarsOnRevoke(vdev));
}

/**
 * model-only: the series' per-device `zap_bars_on_revoke` (v3 on; v1 and v2 had nvgrace-gpu's mmap
 * set `bar_needs_zap`): vfio_pci_core_register_device() sets it for a driver whose ->mmap is not
 * vfio_pci_core_mmap(), because that driver's mappings are no dma-buf's and only the device-wide
 * zap reaches them. vfio-pci's mmap is the core's.
 */
function zapBarsOnRevoke(vdev: VfioPciCoreDevice): boolean {
  return vdev.ops.mmap !== vfioPciOps.mmap;
}

/** model-only: the era has memory_lock (v5.8 on; v5.7 is the `eager` scheme). */
export const hasMemoryLock = (vdev: VfioPciCoreDevice): boolean =>
  vdev.machine.design.options.mmapScheme !== 'eager';

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_set_power_state() (the PCI part)
function* vfioPciSetPowerState(vdev: VfioPciCoreDevice, state: PowerState): Thread<number> {
  return yield* pciSetPowerState(vdev.pdev, state);
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_ioctl_reset() (VFIO_DEVICE_RESET): -EINVAL without
 * reset_works; zap under memory_lock held for write, D0, pci_try_reset_function(), up_write.
 */
export function* vfioPciIoctlReset(vdev: VfioPciCoreDevice): Thread<number> {
  if (!vdev.pdev.resetCapable) return EINVAL;
  const o = vdev.machine.design.options;
  const zapAfterD0 = o.resetZap === 'after-d0';
  // dmabuf-backed from step 4 ("Clean up BAR zap and revocation"): the revoke is the zap, so the
  // series moves them together — before D0 in v1 (vfio_pci_lock_zap_revoke_bars()), after it from v2.
  const revokeIsZap = o.mmapScheme === 'dmabuf' && o.step >= 4;
  if (zapAfterD0) yield* vdev.memoryLock.downWrite();
  else {
    yield* vfioPciZapAndDownWriteMemoryLock(vdev);
    if (revokeIsZap) yield* vfioPciDmaBufMove(vdev, true);
  }
  // "This function can be invoked while the power state is non-D0": D0 first (2b2c651baf1c, v5.19;
  // not in the v5 era); v7.1 revokes the dma-bufs after the transition and zapped the CPU mappings
  // before it; the proposal (v2 on) zaps after it, with the revoke.
  if (o.coreEra === 'v6') yield* vfioPciSetPowerState(vdev, 'D0');
  if (zapAfterD0 && zapsBars(vdev)) yield* vfioPciZapBars(vdev);
  if (o.dmabufExport && (zapAfterD0 || !revokeIsZap)) yield* vfioPciDmaBufMove(vdev, true);
  const ret = yield* pciTryResetFunction(vdev.pdev);
  if (o.dmabufExport && (yield* vfioPciMemoryEnabled(vdev))) yield* vfioPciDmaBufMove(vdev, false);
  yield* vdev.memoryLock.upWrite();
  return ret;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_dev_set_hot_reset() — every device of the set:
 * down_write_trylock() on its memory_lock (contention: -EBUSY, unlocking what was taken), zap its
 * BARs, D0; then the bus reset; then unlock in reverse order.
 */
export function* vfioPciDevSetHotReset(
  vdevs: readonly VfioPciCoreDevice[],
  resetBus: (pdevs: PciDev[]) => Thread<number>,
): Thread<number> {
  const locked: VfioPciCoreDevice[] = [];
  let ret = 0;
  const o = vdevs[0]!.machine.design.options;
  for (const v of vdevs) {
    if (v.machine.design.options.mmapScheme === 'vma-list') {
      // That era: vfio_pci_zap_and_vma_lock(vdev, true), then down_write_trylock(memory_lock).
      if (!(yield* vfioPciZapAndVmaLock(v, true))) {
        ret = EBUSY;
        break;
      }
      const got = yield* v.memoryLock.tryDownWrite();
      yield* v.vmaLock.unlock();
      if (!got) {
        ret = EBUSY;
        break;
      }
      locked.push(v);
      continue;
    }
    if (!(yield* v.memoryLock.tryDownWrite())) {
      ret = EBUSY;
      break;
    }
    locked.push(v);
    if (o.dmabufExport) yield* vfioPciDmaBufMove(v, true);
    if (zapsBars(v)) yield* vfioPciZapBars(v);
  }
  if (ret === 0) {
    // D0 first (2b2c651baf1c, v5.19): not in the v5 era.
    if (o.coreEra === 'v6') for (const v of vdevs) yield* vfioPciSetPowerState(v, 'D0');
    ret = yield* resetBus(vdevs.map((v) => v.pdev));
  }
  // Success and error paths alike: unrevoke (an opened device with memory enabled), then unlock.
  for (let i = locked.length - 1; i >= 0; i--) {
    const v = locked[i]!;
    if (o.dmabufExport && (yield* v.vdev.openCount.read()) > 0 && (yield* vfioPciMemoryEnabled(v)))
      yield* vfioPciDmaBufMove(v, false);
    yield* v.memoryLock.upWrite();
  }
  return ret;
}

/** The hot reset of either era's uapi: VFIO_DEVICE_PCI_HOT_RESET. */
export const vfioPciHotReset = (
  vdevs: readonly VfioPciCoreDevice[],
  resetBus: (pdevs: PciDev[]) => Thread<number>,
): Thread<number> =>
  vdevs[0]!.machine.design.options.coreEra === 'v5'
    ? vfioPciIoctl(vdevs[0]!, { hotReset: vdevs, resetBus })
    : vfioPciDevSetHotReset(vdevs, resetBus);

/** VFIO_DEVICE_RESET in either era: vfio_pci_ioctl_reset(), or v5's case of vfio_pci_ioctl(). */
export const vfioDeviceReset = (vdev: VfioPciCoreDevice): Thread<number> =>
  vdev.machine.design.options.coreEra === 'v5'
    ? vfioPciIoctl(vdev, { reset: true })
    : vfioPciIoctlReset(vdev);

/**
 * drivers/vfio/pci/vfio_pci.c (v5.7 to v5.14): vfio_pci_ioctl() — the v5 era's device ioctl, whose
 * VFIO_DEVICE_RESET and VFIO_DEVICE_PCI_HOT_RESET cases the model has. v5.7: the reset alone
 * (pci_try_reset_function(), or the slot/bus reset), no lock, nothing zapped. v5.8 (abafbc551fdd)
 * to v5.13: VFIO_DEVICE_RESET zaps under memory_lock for write around pci_try_reset_function();
 * the hot reset takes, per device, vfio_pci_zap_and_vma_lock(vdev, true) and then
 * down_write_trylock(memory_lock) (-EBUSY on contention), resets, and unlocks. No D0 transition
 * (2b2c651baf1c came in v5.19) and no dma-bufs.
 */
export function* vfioPciIoctl(
  vdev: VfioPciCoreDevice,
  cmd:
    | { reset: true }
    | { hotReset: readonly VfioPciCoreDevice[]; resetBus: (pdevs: PciDev[]) => Thread<number> },
): Thread<number> {
  if ('reset' in cmd) {
    if (!vdev.pdev.resetCapable) return EINVAL;
    if (!hasMemoryLock(vdev)) return yield* pciTryResetFunction(vdev.pdev);
    yield* vfioPciZapAndDownWriteMemoryLock(vdev);
    const ret = yield* pciTryResetFunction(vdev.pdev);
    yield* vdev.memoryLock.upWrite();
    return ret;
  }
  const vdevs = cmd.hotReset;
  if (!hasMemoryLock(vdev)) return yield* cmd.resetBus(vdevs.map((v) => v.pdev));
  const locked: VfioPciCoreDevice[] = [];
  let ret = 0;
  for (const v of vdevs) {
    if (!(yield* vfioPciZapAndVmaLock(v, true))) {
      ret = EBUSY;
      break;
    }
    const got = yield* v.memoryLock.tryDownWrite();
    yield* v.vmaLock.unlock();
    if (!got) {
      ret = EBUSY;
      break;
    }
    locked.push(v);
  }
  if (ret === 0) ret = yield* cmd.resetBus(vdevs.map((v) => v.pdev));
  for (let i = locked.length - 1; i >= 0; i--) yield* locked[i]!.memoryLock.upWrite();
  return ret;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_runtime_pm_entry() — zap under memory_lock for
 * write; -EINVAL if already engaged (after the zap, which it does not undo); else engaged.
 */
export function* vfioPciRuntimePmEntry(vdev: VfioPciCoreDevice): Thread<number> {
  // The low-power feature came in v6.1: before, vfio_pci_core_ioctl_feature() does not know it.
  if (vdev.machine.design.options.coreEra === 'v5') return ENOTTY;
  yield* vfioPciZapAndDownWriteMemoryLock(vdev);
  yield* vfioPciDmaBufMove(vdev, true);
  let ret = 0;
  if (yield* vdev.pmRuntimeEngaged.read()) ret = EINVAL;
  else yield* vdev.pmRuntimeEngaged.write(true); // then pm_runtime_put_noidle()
  yield* vdev.memoryLock.upWrite();
  return ret;
}

// drivers/vfio/pci/vfio_pci_core.c: __vfio_pci_runtime_pm_exit() (memory_lock held for write)
function* vfioPciRuntimePmExitLocked(vdev: VfioPciCoreDevice): Thread<void> {
  if (yield* vdev.pmRuntimeEngaged.read()) yield* vdev.pmRuntimeEngaged.write(false);
}

// model-only: the common tail of vfio_pci_runtime_pm_exit() and vfio_pci_core_disable(): exit,
// then (v6.19 on, where there are dma-bufs) unrevoke if memory is enabled.
function* vfioPciRuntimePmExitAndUnrevoke(vdev: VfioPciCoreDevice): Thread<void> {
  yield* vfioPciRuntimePmExitLocked(vdev);
  if (vdev.machine.design.options.dmabufExport && (yield* vfioPciMemoryEnabled(vdev)))
    yield* vfioPciDmaBufMove(vdev, false);
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_runtime_pm_exit() (VFIO_DEVICE_FEATURE_LOW_POWER_EXIT)
export function* vfioPciRuntimePmExit(vdev: VfioPciCoreDevice): Thread<number> {
  if (vdev.machine.design.options.coreEra === 'v5') return ENOTTY;
  yield* vdev.memoryLock.downWrite();
  yield* vfioPciRuntimePmExitAndUnrevoke(vdev);
  yield* vdev.memoryLock.upWrite();
  return 0;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_runtime_suspend() — under memory_lock (write)
 * the device is put in D0 so the PCI core can suspend it; the PCI core then takes it to D3hot.
 * Nothing is revoked here: low-power entry already did that.
 */
export function* vfioPciRuntimeSuspend(vdev: VfioPciCoreDevice): Thread<number> {
  yield* vdev.memoryLock.downWrite();
  yield* vfioPciSetPowerState(vdev, 'D0');
  yield* vdev.memoryLock.upWrite();
  // pci_pm_runtime_suspend(): the PCI core's part.
  return yield* pciSetPowerState(vdev.pdev, 'D3hot');
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_runtime_resume() — the PCI core brings the
 * device to D0; with a wake eventfd registered at low-power entry, VFIO signals it and leaves low
 * power (__vfio_pci_runtime_pm_exit) under memory_lock — **without** unrevoking the dma-bufs: CPU
 * faults work again while the buffers stay revoked until a later unrevoke (LOW_POWER_EXIT, a
 * COMMAND write, a reset). Still so in v7.1.
 */
export function* vfioPciRuntimeResume(vdev: VfioPciCoreDevice, wakeEventfd: boolean): Thread<number> {
  yield* pciSetPowerState(vdev.pdev, 'D0');
  if (wakeEventfd) {
    yield* vdev.memoryLock.downWrite();
    yield* vfioPciRuntimePmExitLocked(vdev);
    yield* vdev.memoryLock.upWrite();
  }
  return 0;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_sriov_configure() — under memory_lock (write):
 * D0 and pci_enable_sriov(). Nothing is zapped or revoked: decode stays on.
 */
export function* vfioPciSriovConfigure(vdev: VfioPciCoreDevice): Thread<number> {
  yield* vdev.memoryLock.downWrite();
  yield* vfioPciSetPowerState(vdev, 'D0');
  yield* vdev.memoryLock.upWrite();
  return 0;
}

// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_ioctl_get_region_info() (its ROM case)
/**
 * ROM probing in VFIO_DEVICE_GET_REGION_INFO (vfio_pci_memory_lock_and_enable() /
 * vfio_pci_memory_unlock_and_restore()): under memory_lock (write) the memory bit is set in the
 * *hardware* command register for the probe, then the old value is restored. No zap: faults are
 * held off by the lock, and the virtual register is untouched.
 */
export function* vfioPciProbeRom(vdev: VfioPciCoreDevice): Thread<number> {
  // v5.7 had no memory_lock: pci_map_rom() ran unlocked.
  const locked = hasMemoryLock(vdev);
  if (locked) yield* vdev.memoryLock.downWrite();
  const old = (yield* vdev.pdev.hw.read()).command;
  if (!(old & PCI_COMMAND_MEMORY)) yield* pciWriteCommand(vdev.pdev, old | PCI_COMMAND_MEMORY);
  // (the ROM is read here)
  if (!(old & PCI_COMMAND_MEMORY)) yield* pciWriteCommand(vdev.pdev, old);
  if (locked) yield* vdev.memoryLock.upWrite();
  return 0;
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_ioctl() — the ioctls the model has (the v6 core;
 * the v5 era's vfio_pci_ioctl() is vfioPciIoctl()).
 */
export function* vfioPciCoreIoctl(vdev: VfioPciCoreDevice, cmd: VfioPciIoctl): Thread<number> {
  if (cmd.cmd === 'VFIO_DEVICE_RESET') return yield* vfioPciIoctlReset(vdev);
  return yield* vfioPciDevSetHotReset(cmd.vdevs, cmd.resetBus);
}

/**
 * drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_ioctl_feature() — the features the model has:
 * low-power entry and exit, dma-buf export, and the proposal's revoke and memattr (the uapi layer
 * answers -ENOTTY for those where the design has no such feature).
 */
export function* vfioPciCoreIoctlFeature(vdev: VfioPciCoreDevice, f: VfioPciFeature): Thread<number> {
  switch (f.feature) {
    case 'LOW_POWER_ENTRY':
      return yield* vfioPciRuntimePmEntry(vdev);
    case 'LOW_POWER_EXIT':
      return yield* vfioPciRuntimePmExit(vdev);
    case 'DMA_BUF':
      return yield* vfioPciCoreFeatureDmaBuf(vdev, f.req, f.files);
    case 'DMA_BUF_REVOKE':
      return yield* vfioPciCoreFeatureDmaBufRevoke(vdev, f.dmabuf);
    case 'DMA_BUF_MEMATTR':
      return vfioPciCoreFeatureDmaBufMemattr(vdev, f.dmabuf, f.attr);
  }
}

/** Region offset for mmap(2) and pread/pwrite: index << 40, plus the offset inside the region. */
export function regionOffset(index: number, offset = 0): number {
  return indexToOffset(index) + offset;
}
