// The nvgrace-gpu variant driver (drivers/vfio/pci/nvgrace-gpu/main.c) as of v6.19, with
// a23b10608d42 ("vfio/nvgrace-gpu: wait for the GPU mem to be ready"), through v7.1
// (docs/vfio-pci.md, "Variant drivers: nvgrace-gpu"). An NVIDIA Grace Hopper / Blackwell GPU's
// memory is coherent with the CPU over the chip-to-chip link and is no PCI BAR; the driver shows it
// to user space as two emulated 64-bit BARs: usemem (region 4, cacheable) and, on Grace Hopper,
// resmem (region 2, uncached, carved out of the end of the memory). Those two regions get the
// driver's own mmap (no eager mapping: faults, PTE or huge), fault and huge fault, read and write;
// every other region is vfio-pci core's. The reported BAR size is the memory length rounded up to
// a power of two: reads past the memory and inside that size give ~0, writes there are dropped.
//
// Readiness: after every reset (its .reset_done sets reset_done) the first fault, read or write
// polls two BAR0 registers until the memory is trained and its link is up, under memory_lock held
// for read, and fails (-EIO, SIGBUS) while memory is disabled. read and write hold memory_lock
// for read across the copy to or from user space.
//
// What the model leaves out: the emulated BAR registers in config space (no scenario reads them:
// bar_val is plain data zeroed where the kernel zeroes it), VFIO_DEVICE_IOEVENTFD (-ENOTTY), the
// region-info ioctl, runtime PM references around read and write (the model's device always
// resumes), memory-failure registration (register_pfn_address_space(): no operation injects
// poison), the probe-time readiness wait and the fallback ops without ACPI memory properties.

import { Cell } from '../../../sched/cell.js';
import { Mutex } from '../../../sched/mutex.js';
import type { Thread } from '../../../sched/program.js';
import type { PhysVec } from '../../dma-buf/dma-buf.js';
import type { Machine } from '../../machine.js';
import { PAGE_SIZE } from '../../mm/arch.js';
import { cpuAccess } from '../../mm/memory.js';
import type { Mm } from '../../mm/mm.js';
import {
  setFlags,
  VM_ALLOW_ANY_UNCACHED,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_FAULT_FALLBACK,
  VM_FAULT_SIGBUS,
  VM_IO,
  VM_PFNMAP,
  type Vma,
  type VmFault,
  type VmOperations,
} from '../../mm/mm_types.js';
import { type BarSpec, type PciDev, pciDevmemTrained } from '../../pci/pci.js';
import type { VfioDevice } from '../vfio_main.js';
import { vfioPciConfigRw } from './config.js';
import {
  isAlignedForOrder,
  pgoffInRegion,
  pgoffToIndex,
  setupBarmap,
  VfioPciCoreDevice,
  vfioPciCore,
  vfioPciCoreCloseDevice,
  vfioPciCoreEnable,
  vfioPciCoreEnableReset,
  vfioPciCoreIoctl,
  vfioPciCoreIoctlFeature,
  vfioPciMemoryEnabled,
  vfioPciVmfInsertPfn,
} from './core.js';
import { type DmaRange, vfioPciCoreFillPhysVec, vfioPciCoreGetDmabufPhys } from './dmabuf.js';
import type { VfioPciDeviceOps, VfioPciDevOps, VfioPciDriver, VfioPciRw } from './driver.js';
import { DRIVER_DESIGNS } from './driver-names.js';
import { EIO, vfioPciCoreDoIoRw, vfioPciRw } from './rdwr.js';
import { vfioPciOps } from './vfio_pci.js';

const EFAULT = -14;
const EINVAL = -22;
const EOVERFLOW = -75;

/** RESMEM_REGION_INDEX: VFIO_PCI_BAR2_REGION_INDEX (BAR2 and BAR3). */
export const RESMEM_REGION_INDEX = 2;
/** USEMEM_REGION_INDEX: VFIO_PCI_BAR4_REGION_INDEX (BAR4 and BAR5). */
export const USEMEM_REGION_INDEX = 4;
/** C2C_LINK_BAR0_OFFSET and HBM_TRAINING_BAR0_OFFSET: the readiness registers in BAR0. */
export const C2C_LINK_BAR0_OFFSET = 0x1498;
export const HBM_TRAINING_BAR0_OFFSET = 0x200bc;

/** struct mem_region. */
export class MemRegion {
  /** bar_size: the size reported to user space, memlength rounded up to a power of two. */
  readonly barSize: number;
  /** bar_val: the emulated BAR register (plain data; only config-space accesses read it). */
  barVal = 0;
  /**
   * memaddr / ioaddr set: the kernel mapping of the memory (memremap() for usemem, ioremap_wc()
   * for resmem), made by the first read or write after an open, under remap_lock; plain data.
   */
  mapped = false;
  constructor(
    /** memphys: the memory's first physical address. */
    readonly memphys: number,
    /** memlength: its length in bytes (0: no such region). */
    readonly memlength: number,
  ) {
    this.barSize = memlength === 0 ? 0 : 2 ** Math.ceil(Math.log2(memlength));
  }
}

/** struct nvgrace_gpu_pci_core_device: the vfio-pci core device and the driver's state. */
export class NvgraceGpuPciCoreDevice extends VfioPciCoreDevice {
  /** Cached and usable memory for the VM. */
  readonly usemem: MemRegion;
  /** Non-cached memory carved out of the end of the device memory (memlength 0 without the bug). */
  readonly resmem: MemRegion;
  /** remap_lock: serialises the lazy kernel mapping of the regions. */
  readonly remapLock: Mutex;
  /** has_mig_hw_bug: Grace Hopper, whose MIG needs the uncached resmem carve-out. */
  readonly hasMigHwBug: boolean;
  /**
   * reset_done: "the GPU has just been reset" — set by every reset's .reset_done (under
   * memory_lock held for write on VFIO's resets), cleared under memory_lock held for read by the
   * first access that saw the memory ready. A plain bool in the kernel.
   */
  readonly resetDone: Cell<boolean>;
  /** nvgrace_gpu_vfio_pci_mmap_ops, as this machine's arch has it. */
  readonly mmapOps: VmOperations;

  // drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_probe() with nvgrace_gpu_init_nvdev_struct():
  // the regions from the memory the platform describes (here: the scenario's regions 4 and 2),
  // the err_handler, and pci_ops = nvgrace_gpu_pci_dev_ops. On a design before v6.19 the model has
  // no such driver: the device is never registered, and opening it fails with -ENODEV.
  constructor(machine: Machine, pdev: PciDev) {
    super(
      machine,
      pdev,
      nvgraceGpuPciOps,
      nvgraceGpuPciDevOps,
      DRIVER_DESIGNS['nvgrace-gpu']!.includes(machine.design.name),
    );
    const use = pdev.bars[USEMEM_REGION_INDEX];
    const res = pdev.bars[RESMEM_REGION_INDEX];
    if (!use?.deviceMemory)
      throw new Error(`${pdev.name}: nvgrace-gpu needs its device memory as region ${USEMEM_REGION_INDEX}`);
    this.usemem = new MemRegion(use.phys, use.size);
    this.resmem = res?.deviceMemory ? new MemRegion(res.phys, res.size) : new MemRegion(0, 0);
    this.hasMigHwBug = this.resmem.memlength > 0;
    this.remapLock = new Mutex(`${pdev.name}.remap_lock`, { lockClass: 'remap_lock' });
    this.resetDone = new Cell(`${pdev.name}.reset_done`, false);
    this.mmapOps = nvgraceGpuMmapOps(this);
    // nvgrace_gpu_vfio_pci_driver.err_handler = nvgrace_gpu_vfio_pci_err_handlers
    pdev.errHandler = { resetDone: () => nvgraceGpuVfioPciResetDone(this) };
  }
}

const nvdevOf = (dev: VfioDevice): NvgraceGpuPciCoreDevice => vfioPciCore(dev) as NvgraceGpuPciCoreDevice;

/** drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_memregion() — the region of a fake BAR, or null. */
export function nvgraceGpuMemregion(index: number, nvdev: NvgraceGpuPciCoreDevice): MemRegion | null {
  if (index === USEMEM_REGION_INDEX) return nvdev.usemem;
  if (nvdev.resmem.memlength && index === RESMEM_REGION_INDEX) return nvdev.resmem;
  return null;
}

/** drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_init_fake_bar_emu_regs() */
function nvgraceGpuInitFakeBarEmuRegs(nvdev: NvgraceGpuPciCoreDevice): void {
  nvdev.resmem.barVal = 0;
  nvdev.usemem.barVal = 0;
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_open_device() — vfio_pci_core_enable() (whose
 * reset calls .reset_done: the first access after every open waits for the memory), the fake BAR
 * registers and remap_lock, BAR0's iomap for the readiness registers (a failure disables the
 * device again; it cannot fail in the model), then the memory-failure registration (not modelled).
 */
function* nvgraceGpuOpenDevice(dev: VfioDevice): Thread<number> {
  const nvdev = nvdevOf(dev);
  const ret = yield* vfioPciCoreEnable(dev);
  if (ret) return ret;
  yield* vfioPciCoreEnableReset(nvdev);
  if (nvdev.usemem.memlength) nvgraceGpuInitFakeBarEmuRegs(nvdev); // and mutex_init(&remap_lock)
  return yield* setupBarmap(nvdev, 0);
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_close_device() — the kernel mappings of the
 * memory go (memunmap, iounmap: no lock, VFIO's references keep every user out by now), then
 * vfio_pci_core_close_device().
 */
function* nvgraceGpuCloseDevice(dev: VfioDevice): Thread<void> {
  const nvdev = nvdevOf(dev);
  nvdev.usemem.mapped = false;
  nvdev.resmem.mapped = false;
  yield* vfioPciCoreCloseDevice(dev);
}

/**
 * model-only: ioread32() of a readiness register through vdev->barmap[0] — an access to BAR0 (a
 * kernel read, so MMIO_WHILE_DISABLED checks that BAR0 decodes), which reads STATUS_READY (0xFF)
 * exactly when the device memory is ready.
 */
function* nvgraceReadReadyRegister(
  nvdev: NvgraceGpuPciCoreDevice,
  offset: number,
  thread: string | undefined,
): Thread<boolean> {
  const bar0 = nvdev.pdev.bars[0]!;
  yield* nvdev.machine.access({
    by: 'kernel',
    ...(thread !== undefined ? { thread } : {}),
    write: false,
    pfn: Math.floor((bar0.phys + offset) / PAGE_SIZE),
    via: `${nvdev.pdev.name} readiness register BAR0+0x${offset.toString(16)}`,
  });
  // The access read the device state (its event); the register's value is that state's.
  return nvdev.pdev.hw.value.devmemReady === true;
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_wait_device_ready() — poll the C2C link and
 * HBM training registers until both read ready, with msleep(1000) between rounds, for at most
 * 30 s (-ETIME). The model's memory finishes training during the poll's first sleep after a reset:
 * the latest moment at which a device that the poll then finds ready can have finished, so every
 * access between a reset and the end of this poll is one that may reach memory still training. It
 * never times out.
 */
function* nvgraceGpuWaitDeviceReady(
  nvdev: NvgraceGpuPciCoreDevice,
  thread: string | undefined,
): Thread<number> {
  for (;;) {
    if (
      (yield* nvgraceReadReadyRegister(nvdev, C2C_LINK_BAR0_OFFSET, thread)) &&
      (yield* nvgraceReadReadyRegister(nvdev, HBM_TRAINING_BAR0_OFFSET, thread))
    )
      return 0;
    // msleep(POLL_QUANTUM_MS): the hardware finishes meanwhile.
    yield* pciDevmemTrained(nvdev.pdev);
  }
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_check_device_ready() — memory_lock held for
 * read: nothing to do unless a reset happened since the last check; -EIO while memory is disabled;
 * else wait for the memory and clear reset_done (a write under the read lock: two checkers may
 * both poll and both clear it, which is harmless).
 */
function* nvgraceGpuCheckDeviceReady(nvdev: NvgraceGpuPciCoreDevice, thread?: string): Thread<number> {
  if (nvdev.memoryLock.readerCount === 0)
    throw new Error('BUG: nvgrace_gpu_check_device_ready() without memory_lock held for read');
  if (!(yield* nvdev.resetDone.read())) return 0;
  if (!(yield* vfioPciMemoryEnabled(nvdev))) return EIO;
  const ret = yield* nvgraceGpuWaitDeviceReady(nvdev, thread);
  if (ret) return ret;
  yield* nvdev.resetDone.write(false);
  return 0;
}

/**
 * The first part of nvgrace_gpu_vfio_pci_huge_fault(), which reads nothing shared: the block's
 * address (ALIGN_DOWN to the order), its pfn (memphys + addr_to_pgoff()), and is_aligned_for_order().
 */
function faultBlock(memregion: MemRegion, vmf: VmFault, order: number): { pfn: number; aligned: boolean } {
  const vma = vmf.vma;
  const size = PAGE_SIZE * 2 ** order;
  const addr = vmf.address - (vmf.address % size);
  // addr_to_pgoff(): the page offset in the region (vm_pgoff keeps the region index above it).
  const pgoff = (addr - vma.start) / PAGE_SIZE + pgoffInRegion(vma.pgoff);
  const pfn = Math.floor(memregion.memphys / PAGE_SIZE) + pgoff;
  return { pfn, aligned: isAlignedForOrder(vma, addr, pfn, order) };
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_vfio_pci_huge_fault() — SIGBUS for a region
 * that is no memory region; FALLBACK for a block that does not fit (no lock); otherwise, under
 * memory_lock held for read (scoped_guard): SIGBUS when the device is in low power or not ready
 * (nvgrace_gpu_check_device_ready()), else vfio_pci_vmf_insert_pfn(), which checks memory enabled
 * itself. nvgrace_gpu_vfio_pci_fault() is the same at order 0.
 */
export function* nvgraceGpuVfioPciHugeFault(vmf: VmFault, order: number): Thread<number> {
  const nvdev = vmf.vma.privateData as NvgraceGpuPciCoreDevice;
  const memregion = nvgraceGpuMemregion(pgoffToIndex(vmf.vma.pgoff), nvdev);
  if (!memregion) return VM_FAULT_SIGBUS;
  const { pfn, aligned } = faultBlock(memregion, vmf, order);
  if (!aligned) return VM_FAULT_FALLBACK;
  yield* nvdev.memoryLock.downRead();
  if ((yield* nvdev.pmRuntimeEngaged.read()) || (yield* nvgraceGpuCheckDeviceReady(nvdev)) !== 0) {
    yield* nvdev.memoryLock.upRead();
    return VM_FAULT_SIGBUS;
  }
  const ret = yield* vfioPciVmfInsertPfn(nvdev, vmf, pfn, order);
  yield* nvdev.memoryLock.upRead();
  return ret;
}

/**
 * nvgrace_gpu_vfio_pci_mmap_ops: .fault always; .huge_fault under CONFIG_ARCH_SUPPORTS_HUGE_PFNMAP
 * (an arch whose PMD leaves have a special bit: docs/mm.md, "Architecture profiles").
 */
function nvgraceGpuMmapOps(nvdev: NvgraceGpuPciCoreDevice): VmOperations {
  return {
    name: 'nvgrace_gpu_vfio_pci_mmap_ops',
    fault: (vmf) => nvgraceGpuVfioPciHugeFault(vmf, 0),
    ...(nvdev.machine.arch.pmdSpecial
      ? {
          hugeFault: (vmf: VmFault, order: number) => nvgraceGpuVfioPciHugeFault(vmf, order),
          hugeFaultFallsBack: (vmf: VmFault, order: number) => {
            const m = nvgraceGpuMemregion(pgoffToIndex(vmf.vma.pgoff), nvdev);
            return m !== null && !faultBlock(m, vmf, order).aligned;
          },
        }
      : {}),
  };
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_mmap() — a region that is no memory region goes
 * to vfio_pci_core_mmap(). For a memory region: -EOVERFLOW when the end overflows, -EINVAL past
 * the memory (not the reported BAR size); no MAP_SHARED check, no lock, no readiness check, no PTE
 * now: VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP, resmem also VM_ALLOW_ANY_UNCACHED and
 * write-combining, usemem cacheable (the default protection); the driver's vm_ops. vm_pgoff keeps
 * the region index, so the VMA stays in reach of vfio_pci_zap_bars().
 */
function* nvgraceGpuMmap(dev: VfioDevice, vma: Vma): Thread<number> {
  const nvdev = nvdevOf(dev);
  const index = pgoffToIndex(vma.pgoff);
  const memregion = nvgraceGpuMemregion(index, nvdev);
  if (!memregion) return yield* vfioPciOps.mmap(dev, vma);
  const reqLen = vma.end - vma.start;
  const end = pgoffInRegion(vma.pgoff) * PAGE_SIZE + reqLen;
  if (reqLen < 0 || !Number.isSafeInteger(end)) return EOVERFLOW;
  if (end > memregion.memlength) return EINVAL;
  vma.flags = setFlags(vma.flags, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
  if (index === RESMEM_REGION_INDEX) {
    vma.flags = setFlags(vma.flags, VM_ALLOW_ANY_UNCACHED);
    vma.pageProt = 'wc';
  }
  vma.ops = nvdev.mmapOps;
  vma.privateData = nvdev;
  return 0;
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_map_device_mem() — under remap_lock, map the
 * region into the kernel once (memremap(MEMREMAP_WB) for usemem, ioremap_wc() for resmem; neither
 * fails in the model).
 */
function* nvgraceGpuMapDeviceMem(index: number, nvdev: NvgraceGpuPciCoreDevice): Thread<number> {
  const memregion = nvgraceGpuMemregion(index, nvdev);
  if (!memregion) return EINVAL;
  yield* nvdev.remapLock.lock();
  if (!memregion.mapped) memregion.mapped = true;
  yield* nvdev.remapLock.unlock();
  return 0;
}

/** One page-bounded piece of a copy between usemem at `offset` and a user buffer (or none). */
function copyPiece(
  memphys: number,
  offset: number,
  buffer: number | undefined,
  done: number,
  n: number,
): number {
  const src = memphys + offset + done;
  let piece = Math.min(n - done, PAGE_SIZE - (src % PAGE_SIZE));
  if (buffer !== undefined) piece = Math.min(piece, PAGE_SIZE - ((buffer + done) % PAGE_SIZE));
  return piece;
}

/**
 * include/linux/uaccess.h: copy_to_user(buf, memaddr + offset, n) from the driver's cacheable kernel
 * mapping of usemem — piece by piece (page-bounded on both sides), the read of device memory (a
 * kernel access) and the store to the user buffer (a CPU access through the caller's page tables,
 * which can fault). Without a user buffer only the device side is modelled. True when every byte
 * was copied.
 */
function* copyToUser(
  nvdev: NvgraceGpuPciCoreDevice,
  offset: number,
  n: number,
  buffer: number | undefined,
  mm: Mm,
  thread: string,
): Thread<boolean> {
  const memphys = nvdev.usemem.memphys;
  for (let done = 0; done < n; ) {
    const piece = copyPiece(memphys, offset, buffer, done, n);
    yield* nvdev.machine.access({
      by: 'kernel',
      thread,
      write: false,
      pfn: Math.floor((memphys + offset + done) / PAGE_SIZE),
      via: `${nvdev.pdev.name} usemem (copy_to_user)`,
    });
    if (buffer !== undefined && (yield* cpuAccess(mm, buffer + done, true, thread)) !== 'ok') return false;
    done += piece;
  }
  return true;
}

/**
 * include/linux/uaccess.h: copy_from_user(memaddr + offset, buf, n) into the driver's cacheable kernel
 * mapping of usemem — piece by piece, the load from the user buffer (which can fault), then the
 * write of device memory. True when every byte was copied.
 */
function* copyFromUser(
  nvdev: NvgraceGpuPciCoreDevice,
  offset: number,
  n: number,
  buffer: number | undefined,
  mm: Mm,
  thread: string,
): Thread<boolean> {
  const memphys = nvdev.usemem.memphys;
  for (let done = 0; done < n; ) {
    const piece = copyPiece(memphys, offset, buffer, done, n);
    if (buffer !== undefined && (yield* cpuAccess(mm, buffer + done, false, thread)) !== 'ok') return false;
    yield* nvdev.machine.access({
      by: 'kernel',
      thread,
      write: true,
      pfn: Math.floor((memphys + offset + done) / PAGE_SIZE),
      via: `${nvdev.pdev.name} usemem (copy_from_user)`,
    });
    done += piece;
  }
  return true;
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_map_and_read() — nothing for an empty read;
 * map the region; usemem: copy_to_user() (-EFAULT); resmem: vfio_pci_core_do_io_rw() without
 * memory_lock (test_mem false: the hardware answers ~0 with memory disabled), whose byte count
 * becomes the return value.
 */
function* nvgraceGpuMapAndRead(
  nvdev: NvgraceGpuPciCoreDevice,
  rw: VfioPciRw,
  memCount: number,
  mm: Mm,
  thread: string,
): Thread<number> {
  if (!memCount) return 0;
  const ret = yield* nvgraceGpuMapDeviceMem(rw.region, nvdev);
  if (ret) return ret;
  if (rw.region === USEMEM_REGION_INDEX)
    return (yield* copyToUser(nvdev, rw.offset, memCount, rw.buffer, mm, thread)) ? 0 : EFAULT;
  return yield* vfioPciCoreDoIoRw(nvdev, false, nvdev.resmem.memphys, rw.buffer, rw.offset, memCount, false, {
    mm,
    thread,
    via: `${nvdev.pdev.name} resmem read`,
  });
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_read_mem() — -EINVAL from the reported BAR size
 * on, the count clipped to it; under memory_lock held for read (scoped_guard), the readiness check
 * and the read of the bytes inside the memory (the user copy included); after the lock, 0xFF for
 * each byte past the memory (put_user()). A nonzero result of either step is returned as it is.
 */
function* nvgraceGpuReadMem(
  nvdev: NvgraceGpuPciCoreDevice,
  rw: VfioPciRw,
  mm: Mm,
  thread: string,
): Thread<number> {
  const memregion = nvgraceGpuMemregion(rw.region, nvdev)!;
  if (rw.offset >= memregion.barSize) return EINVAL;
  const count = Math.min(rw.length, memregion.barSize - rw.offset);
  const memCount = rw.offset >= memregion.memlength ? 0 : Math.min(count, memregion.memlength - rw.offset);
  yield* nvdev.memoryLock.downRead();
  let ret = yield* nvgraceGpuCheckDeviceReady(nvdev, thread);
  if (ret === 0) ret = yield* nvgraceGpuMapAndRead(nvdev, rw, memCount, mm, thread);
  yield* nvdev.memoryLock.upRead();
  if (ret) return ret;
  // put_user(0xFF) per byte past the memory: the model touches each page of them once.
  if (rw.buffer !== undefined) {
    for (let i = memCount; i < count; ) {
      const at = rw.buffer + i;
      if ((yield* cpuAccess(mm, at, true, thread)) !== 'ok') return EFAULT;
      i += Math.min(count - i, PAGE_SIZE - (at % PAGE_SIZE));
    }
  }
  return count;
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_read() — a memory region: a runtime-PM
 * reference around nvgrace_gpu_read_mem() (-EIO if the device cannot resume; the model's always
 * does); the config region: nvgrace_gpu_read_config_emu() (no scenario reads it); anything else:
 * vfio_pci_core_read().
 */
function* nvgraceGpuRead(vdev: VfioPciCoreDevice, rw: VfioPciRw, mm: Mm, thread: string): Thread<number> {
  const nvdev = vdev as NvgraceGpuPciCoreDevice;
  if (nvgraceGpuMemregion(rw.region, nvdev)) return yield* nvgraceGpuReadMem(nvdev, rw, mm, thread);
  return yield* vfioPciRw(vdev, rw, false, mm, thread);
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_map_and_write() — nothing for an empty write;
 * map the region; usemem: copy_from_user() (-EFAULT); resmem: vfio_pci_core_do_io_rw() without
 * memory_lock, whose byte count becomes the return value.
 */
function* nvgraceGpuMapAndWrite(
  nvdev: NvgraceGpuPciCoreDevice,
  rw: VfioPciRw,
  memCount: number,
  mm: Mm,
  thread: string,
): Thread<number> {
  if (!memCount) return 0;
  const ret = yield* nvgraceGpuMapDeviceMem(rw.region, nvdev);
  if (ret) return ret;
  if (rw.region === USEMEM_REGION_INDEX)
    return (yield* copyFromUser(nvdev, rw.offset, memCount, rw.buffer, mm, thread)) ? 0 : EFAULT;
  return yield* vfioPciCoreDoIoRw(nvdev, false, nvdev.resmem.memphys, rw.buffer, rw.offset, memCount, true, {
    mm,
    thread,
    via: `${nvdev.pdev.name} resmem write`,
  });
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_write_mem() — -EINVAL from the reported BAR
 * size on, the count clipped to it; a write that starts past the memory is dropped with no lock
 * and no readiness check; otherwise, under memory_lock held for read (scoped_guard), the readiness
 * check and the write of the bytes inside the memory (the user copy included). The count is
 * returned (or a nonzero result of either step).
 */
function* nvgraceGpuWriteMem(
  nvdev: NvgraceGpuPciCoreDevice,
  rw: VfioPciRw,
  mm: Mm,
  thread: string,
): Thread<number> {
  const memregion = nvgraceGpuMemregion(rw.region, nvdev)!;
  if (rw.offset >= memregion.barSize) return EINVAL;
  const count = Math.min(rw.length, memregion.barSize - rw.offset);
  if (rw.offset >= memregion.memlength) return count;
  const memCount = Math.min(count, memregion.memlength - rw.offset);
  yield* nvdev.memoryLock.downRead();
  let ret = yield* nvgraceGpuCheckDeviceReady(nvdev, thread);
  if (ret === 0) ret = yield* nvgraceGpuMapAndWrite(nvdev, rw, memCount, mm, thread);
  yield* nvdev.memoryLock.upRead();
  if (ret) return ret;
  return count;
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_write() — a memory region: a runtime-PM
 * reference around nvgrace_gpu_write_mem(); anything else but config: vfio_pci_core_write().
 */
function* nvgraceGpuWrite(vdev: VfioPciCoreDevice, rw: VfioPciRw, mm: Mm, thread: string): Thread<number> {
  const nvdev = vdev as NvgraceGpuPciCoreDevice;
  if (nvgraceGpuMemregion(rw.region, nvdev)) return yield* nvgraceGpuWriteMem(nvdev, rw, mm, thread);
  return yield* vfioPciRw(vdev, rw, true, mm, thread);
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_write_config_emu() — a write that touches the
 * emulated PCI_BASE_ADDRESS_2 or _4 only sets bar_val; the registers the scenario writes
 * (PCI_COMMAND, the PM control register, PCIe DEVCTL) touch neither: vfio_pci_core_write().
 */
function* nvgraceGpuWriteConfigEmu(
  vdev: VfioPciCoreDevice,
  w: Parameters<VfioPciDeviceOps['configWrite']>[1],
): Thread<number> {
  return yield* vfioPciConfigRw(vdev, w);
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_ioctl() — VFIO_DEVICE_RESET first zeroes the
 * emulated BAR registers; every ioctl the model has then goes to vfio_pci_core_ioctl().
 */
function* nvgraceGpuIoctl(
  vdev: VfioPciCoreDevice,
  cmd: Parameters<VfioPciDeviceOps['ioctl']>[1],
): Thread<number> {
  if (cmd.cmd === 'VFIO_DEVICE_RESET') nvgraceGpuInitFakeBarEmuRegs(vdev as NvgraceGpuPciCoreDevice);
  return yield* vfioPciCoreIoctl(vdev, cmd);
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_vfio_pci_reset_done() — .reset_done after every
 * function or bus reset: the next access must wait for the memory. No lock is asserted (resets
 * outside VFIO hold none).
 */
function* nvgraceGpuVfioPciResetDone(nvdev: NvgraceGpuPciCoreDevice): Thread<void> {
  yield* nvdev.resetDone.write(true);
}

/**
 * drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_get_dmabuf_phys() — a memory region's ranges are
 * inside its memory (vfio_pci_core_fill_phys_vec() over memphys, memlength), with BAR0's P2P
 * provider (none without BAR0: -EINVAL); any other region: vfio_pci_core_get_dmabuf_phys().
 */
function nvgraceGetDmabufPhys(
  vdev: VfioPciCoreDevice,
  regionIndex: number,
  ranges: readonly DmaRange[],
): PhysVec[] | number {
  const memregion = nvgraceGpuMemregion(regionIndex, vdev as NvgraceGpuPciCoreDevice);
  if (memregion) {
    if (!vdev.pdev.bars[0]) return EINVAL;
    return vfioPciCoreFillPhysVec(ranges, memregion.memphys, memregion.memlength);
  }
  return vfioPciCoreGetDmabufPhys(vdev, regionIndex, ranges);
}

/** drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_pci_ops — the core's functions for the rest. */
const nvgraceGpuPciOps: VfioPciDeviceOps = {
  name: 'nvgrace-gpu-vfio-pci',
  openDevice: (dev) => nvgraceGpuOpenDevice(dev),
  closeDevice: (dev) => nvgraceGpuCloseDevice(dev),
  mmap: (dev, vma) => nvgraceGpuMmap(dev, vma),
  read: (vdev, rw, mm, thread) => nvgraceGpuRead(vdev, rw, mm, thread),
  write: (vdev, rw, mm, thread) => nvgraceGpuWrite(vdev, rw, mm, thread),
  configWrite: (vdev, w) => nvgraceGpuWriteConfigEmu(vdev, w),
  ioctl: (vdev, cmd) => nvgraceGpuIoctl(vdev, cmd),
  deviceFeature: (vdev, f) => vfioPciCoreIoctlFeature(vdev, f),
};

/** drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_pci_dev_ops. */
const nvgraceGpuPciDevOps: VfioPciDevOps = { getDmabufPhys: nvgraceGetDmabufPhys };

/** drivers/vfio/pci/nvgrace-gpu/main.c: nvgrace_gpu_vfio_pci_driver. */
export const NVGRACE_GPU_DRIVER: VfioPciDriver = {
  name: 'nvgrace-gpu',
  // The ACPI properties nvidia,gpu-mem-base-pa / -size give the memory; the scenario gives it
  // carved as the driver carves it: regions 4 and 2 are device memory, not BARs of the function.
  hardware: (bars: readonly BarSpec[]) =>
    bars.map((b) =>
      b.index === USEMEM_REGION_INDEX || b.index === RESMEM_REGION_INDEX ? { ...b, deviceMemory: true } : b,
    ),
  probe: (machine: Machine, pdev: PciDev) => new NvgraceGpuPciCoreDevice(machine, pdev),
};
