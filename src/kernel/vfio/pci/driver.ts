// The seam between VFIO and the driver that binds a PCI function to it (docs/vfio-pci.md, "Variant
// drivers"): what a vfio-pci driver module gives the kernel — its struct vfio_device_ops (open and
// close, read, write, mmap, ioctl, device_feature), the .reset_done of its struct
// pci_error_handlers, and its struct vfio_pci_device_ops (.get_dmabuf_phys) — and the probe that
// makes the device structure. The drivers are registered by name in drivers.ts; vfio-pci
// (vfio_pci.ts), made of vfio-pci core's functions, is the default. A variant driver is one file
// that overrides what its kernel driver overrides and calls the core for the rest, deciding per
// region inside each entry as the kernel's variant drivers do (nvgrace-gpu's read() handles its two
// device-memory regions and passes every other index to vfio_pci_core_read(); its mmap() installs
// its own vm_ops, and so its own fault and huge fault, on those regions only).

import type { Thread } from '../../../sched/program.js';
import type { FdTable, PhysVec } from '../../dma-buf/dma-buf.js';
import type { File } from '../../fs/file.js';
import type { Machine } from '../../machine.js';
import type { Mm } from '../../mm/mm.js';
import type { BarSpec, PciDev, PowerState } from '../../pci/pci.js';
import type { VfioDeviceOps } from '../vfio_main.js';
import type { VfioPciCoreDevice } from './core.js';
import type { DmaRange, FeatureDmaBuf } from './dmabuf.js';

/** A read or write through the device fd at a region (pread/pwrite at its offset). */
export interface VfioPciRw {
  region: number;
  /** The offset inside the region. */
  offset: number;
  length: number;
  /**
   * The user buffer's address in the caller's address space, when the scenario names one (a
   * mapping that may fault); without it the buffer is private memory that never faults, and the
   * copy to or from it is not modelled.
   */
  buffer?: number;
}

/** A write to the config region the scenario operations make (pwrite at the register's offset). */
export type VfioPciConfigWrite =
  | { reg: 'command'; value: number }
  | { reg: 'power'; state: PowerState }
  | { reg: 'flr' };

/** The device ioctls the model has. */
export type VfioPciIoctl =
  | { cmd: 'VFIO_DEVICE_RESET' }
  | {
      cmd: 'VFIO_DEVICE_PCI_HOT_RESET';
      vdevs: readonly VfioPciCoreDevice[];
      resetBus: (pdevs: PciDev[]) => Thread<number>;
    };

/** The VFIO_DEVICE_FEATUREs the model has (the last two: the proposal's, ENOTTY elsewhere). */
export type VfioPciFeature =
  | { feature: 'LOW_POWER_ENTRY' }
  | { feature: 'LOW_POWER_EXIT' }
  | { feature: 'DMA_BUF'; req: FeatureDmaBuf; files: FdTable }
  | { feature: 'DMA_BUF_REVOKE'; dmabuf: File }
  | { feature: 'DMA_BUF_MEMATTR'; dmabuf: File; attr: 'uc' | 'wc' };

/** struct vfio_device_ops of a vfio-pci driver: the generic entries and the ones the model adds. */
export interface VfioPciDeviceOps extends VfioDeviceOps {
  /** ops->read(): bytes read, or -errno. `mm` is the caller's (current->mm, for the user copy). */
  read(vdev: VfioPciCoreDevice, rw: VfioPciRw, mm: Mm, thread: string): Thread<number>;
  /** ops->write(): bytes written, or -errno. */
  write(vdev: VfioPciCoreDevice, rw: VfioPciRw, mm: Mm, thread: string): Thread<number>;
  /** ops->write() at the config region, for the registers the scenario operations write. */
  configWrite(vdev: VfioPciCoreDevice, w: VfioPciConfigWrite): Thread<number>;
  /** ops->ioctl(). */
  ioctl(vdev: VfioPciCoreDevice, cmd: VfioPciIoctl): Thread<number>;
  /** ops->device_feature(). */
  deviceFeature(vdev: VfioPciCoreDevice, f: VfioPciFeature): Thread<number>;
}

/** struct vfio_pci_device_ops (vdev->pci_ops): what the core asks the driver about its regions. */
export interface VfioPciDevOps {
  /**
   * .get_dmabuf_phys(): the physical ranges of a dma-buf export of `regionIndex` (no events: it
   * reads only what probe set up), or -errno.
   */
  getDmabufPhys(
    vdev: VfioPciCoreDevice,
    regionIndex: number,
    ranges: readonly DmaRange[],
  ): PhysVec[] | number;
}

/** A vfio-pci driver module, as a scenario device names it (`driver:`). */
export interface VfioPciDriver {
  /** The scenario's name for it (the module's: vfio-pci, nvgrace-gpu). */
  readonly name: string;
  /**
   * What the platform tells about the device beyond its config space (ACPI): the BAR list a
   * scenario gives, as the PCI function's hardware has it. vfio-pci takes it as it is.
   */
  hardware?(bars: readonly BarSpec[]): BarSpec[];
  /**
   * struct pci_driver.probe: the device structure (vfio_alloc_device() with the driver's ops,
   * driver state, err_handler and pci_ops set up). Probing cannot fail in the model.
   */
  probe(machine: Machine, pdev: PciDev): VfioPciCoreDevice;
}
