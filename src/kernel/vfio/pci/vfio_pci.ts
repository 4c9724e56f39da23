// The vfio-pci driver (drivers/vfio/pci/vfio_pci.c): vfio_pci_ops, every entry a vfio-pci core
// function, and vfio_pci_driver, whose err_handler (vfio_pci_core_err_handlers) has no
// .reset_done. The default driver of a scenario device (`driver: vfio-pci`, docs/vfio-pci.md,
// "Variant drivers").
//
// The entries are arrows so that this module can be evaluated while core.ts, which imports it for
// its default ops, is still being evaluated.

import type { Machine } from '../../machine.js';
import type { Vma } from '../../mm/mm_types.js';
import type { PciDev } from '../../pci/pci.js';
import type { VfioDevice } from '../vfio_main.js';
import { vfioPciConfigRw } from './config.js';
import {
  VfioPciCoreDevice,
  vfioDeviceMmap,
  vfioPciCore,
  vfioPciCoreCloseDevice,
  vfioPciCoreEnable,
  vfioPciCoreIoctl,
  vfioPciCoreIoctlFeature,
  vfioPciIoctl,
  vfioPciOpen,
  vfioPciRelease,
} from './core.js';
import { vfioPciCoreMmapDmabuf, vfioPciCoreMmapPrepare } from './dmabuf_mmap.js';
import type { VfioPciDeviceOps, VfioPciDriver } from './driver.js';
import { vfioPciRw } from './rdwr.js';

/** drivers/vfio/pci/vfio_pci.c: vfio_pci_ops. */
export const vfioPciOps: VfioPciDeviceOps = {
  name: 'vfio-pci',
  // vfio_pci_open_device(): vfio_pci_core_enable(), then vfio_pci_core_finish_enable() (nothing
  // the model has).
  openDevice: (dev) => vfioPciCoreEnable(dev),
  closeDevice: (dev) => vfioPciCoreCloseDevice(dev),
  // The v5 era: vfio_device_ops .open/.release, vfio-pci doing its own locking.
  open: (dev) => vfioPciOpen(dev),
  release: (dev) => vfioPciRelease(dev),
  // dmabuf-backed: every posted revision makes the dma-buf in this legacy ->mmap (dmabuf_mmap.ts).
  mmap: (dev: VfioDevice, vma: Vma) =>
    vfioPciCore(dev).machine.design.options.mmapScheme === 'dmabuf'
      ? vfioPciCoreMmapDmabuf(dev, vma)
      : vfioDeviceMmap(dev, vma),
  // The `mmap_prepare` and `mapped` variants convert the device fd to f_op->mmap_prepare.
  usesMmapPrepare: (dev: VfioDevice): boolean => {
    const o = vfioPciCore(dev).machine.design.options;
    return o.mmapScheme === 'dmabuf' && o.mmapHook !== 'mmap';
  },
  mmapPrepare: (dev, desc) => vfioPciCoreMmapPrepare(dev, desc),
  // vfio_pci_core_read() / vfio_pci_core_write() -> vfio_pci_rw()
  read: (vdev, rw, mm, thread) => vfioPciRw(vdev, rw, false, mm, thread),
  write: (vdev, rw, mm, thread) => vfioPciRw(vdev, rw, true, mm, thread),
  // vfio_pci_core_write() at the config region -> vfio_pci_config_rw()
  configWrite: (vdev, w) => vfioPciConfigRw(vdev, w),
  // The v5 era's vfio_pci_ioctl(); vfio_pci_core_ioctl() from the core split on.
  ioctl: (vdev, cmd) =>
    vdev.machine.design.options.coreEra === 'v5'
      ? vfioPciIoctl(
          vdev,
          cmd.cmd === 'VFIO_DEVICE_RESET' ? { reset: true } : { hotReset: cmd.vdevs, resetBus: cmd.resetBus },
        )
      : vfioPciCoreIoctl(vdev, cmd),
  deviceFeature: (vdev, f) => vfioPciCoreIoctlFeature(vdev, f),
};

/** drivers/vfio/pci/vfio_pci.c: vfio_pci_driver — probe makes a plain vfio_pci_core_device. */
export const VFIO_PCI_DRIVER: VfioPciDriver = {
  name: 'vfio-pci',
  probe: (machine: Machine, pdev: PciDev) => new VfioPciCoreDevice(machine, pdev, vfioPciOps),
};
