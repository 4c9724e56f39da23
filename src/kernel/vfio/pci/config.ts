// Config-space writes that change whether the BARs decode (drivers/vfio/pci/vfio_pci_config.c):
// the PCI_COMMAND memory bit, the power state, and function-level reset through PCIe DEVCTL.
// Each one that can disable decode zaps every BAR mapping and revokes every dma-buf under
// memory_lock held for write *before* touching the hardware, and unrevokes afterwards only if
// memory is enabled again.

import type { Thread } from '../../../sched/program.js';
import {
  PCI_COMMAND_MEMORY,
  type PowerState,
  pciSetPowerState,
  pciTryResetFunction,
  pciWriteCommand,
} from '../../pci/pci.js';
import {
  hasMemoryLock,
  type VfioPciCoreDevice,
  vfioPciMemoryEnabled,
  vfioPciZapAndDownWriteMemoryLock,
} from './core.js';
import { vfioPciDmaBufMove } from './dmabuf.js';
import type { VfioPciConfigWrite } from './driver.js';

/**
 * drivers/vfio/pci/vfio_pci_config.c: vfio_basic_config_write() for PCI_COMMAND. Every write that
 * leaves the memory bit clear zaps first (vfio_pci_zap_and_down_write_memory_lock) and revokes the
 * dma-bufs, whatever the bit was before: the kernel tests only the new value. A write that sets it
 * takes the lock plainly. The write goes to the hardware, then the virtual register is updated,
 * then the dma-bufs are unrevoked if memory is enabled, then the lock is released. (The kernel also
 * reads the physical and virtual command registers first, for its backdoor-reset BAR restore,
 * which the model does not have; those reads are left out.)
 */
export function* vfioBasicConfigWrite(vdev: VfioPciCoreDevice, value: number): Thread<number> {
  const newMem = (value & PCI_COMMAND_MEMORY) !== 0;
  if (!hasMemoryLock(vdev)) {
    // v5.7: no memory_lock and no zap: the write goes to the hardware and the virtual register.
    yield* pciWriteCommand(vdev.pdev, value);
    yield* vdev.vconfigCommand.write(value);
    return 0;
  }
  if (!newMem) {
    yield* vfioPciZapAndDownWriteMemoryLock(vdev);
    if (vdev.machine.design.options.dmabufExport) yield* vfioPciDmaBufMove(vdev, true);
  } else {
    yield* vdev.memoryLock.downWrite();
  }
  yield* pciWriteCommand(vdev.pdev, value);
  yield* vdev.vconfigCommand.write(value);
  yield* unrevokeIfEnabled(vdev);
  yield* vdev.memoryLock.upWrite();
  return 0;
}

/**
 * model-only: the end of every revoke site (docs/vfio-pci.md), move(false) only if memory is enabled again
 * (the `if (__vfio_pci_memory_enabled(vdev)) vfio_pci_dma_buf_move(vdev, false)` each site has
 * from v6.19; before there are no dma-bufs and the sites have no such test).
 */
export function* unrevokeIfEnabled(vdev: VfioPciCoreDevice): Thread<void> {
  if (!vdev.machine.design.options.dmabufExport) return;
  if (yield* vfioPciMemoryEnabled(vdev)) yield* vfioPciDmaBufMove(vdev, false);
}

// drivers/vfio/pci/vfio_pci_config.c: vfio_pm_config_write()
/**
 * vfio_pm_config_write() -> vfio_lock_and_set_power_state(): going to D3hot zaps first under the
 * write lock; a shallower state only takes the lock. Before 2b2c651baf1c (v5.19; the v5 era) the
 * write only set the power state: no lock, no zap.
 */
export function* vfioPmConfigWrite(vdev: VfioPciCoreDevice, state: PowerState): Thread<number> {
  if (vdev.machine.design.options.coreEra === 'v5') return yield* pciSetPowerState(vdev.pdev, state);
  if (state === 'D3hot') {
    yield* vfioPciZapAndDownWriteMemoryLock(vdev);
    if (vdev.machine.design.options.dmabufExport) yield* vfioPciDmaBufMove(vdev, true);
  } else {
    yield* vdev.memoryLock.downWrite();
  }
  const ret = yield* pciSetPowerState(vdev.pdev, state);
  yield* unrevokeIfEnabled(vdev);
  yield* vdev.memoryLock.upWrite();
  return ret;
}

// drivers/vfio/pci/vfio_pci_config.c: vfio_exp_config_write()
/**
 * vfio_exp_config_write() with PCI_EXP_DEVCTL_BCR_FLR (needs PCI_EXP_DEVCAP_FLR): zap under the
 * write lock, then pci_try_reset_function(). Without FLR support the write does nothing.
 */
export function* vfioExpConfigWrite(vdev: VfioPciCoreDevice): Thread<number> {
  if (!vdev.pdev.resetCapable) return 0;
  // v5.7: the reset alone (the zap under memory_lock came with abafbc551fdd, v5.8).
  if (!hasMemoryLock(vdev)) return yield* pciTryResetFunction(vdev.pdev);
  yield* vfioPciZapAndDownWriteMemoryLock(vdev);
  if (vdev.machine.design.options.dmabufExport) yield* vfioPciDmaBufMove(vdev, true);
  const ret = yield* pciTryResetFunction(vdev.pdev);
  yield* unrevokeIfEnabled(vdev);
  yield* vdev.memoryLock.upWrite();
  return ret;
}

/** The PCI_COMMAND write (vfio_basic_config_write()), under the name the model's callers use. */
export const vfioPciCommandWrite = vfioBasicConfigWrite;
/** The PM power-state write (vfio_pm_config_write()), under the name the model's callers use. */
export const vfioPciPowerStateWrite = vfioPmConfigWrite;
/** The DEVCTL FLR write (vfio_exp_config_write()), under the name the model's callers use. */
export const vfioPciFlrWrite = vfioExpConfigWrite;

/**
 * drivers/vfio/pci/vfio_pci_config.c: vfio_pci_config_rw() — a write to the config region, to the
 * register's handler: PCI_COMMAND (vfio_basic_config_write()), the PM capability's control
 * register (vfio_pm_config_write()), PCIe DEVCTL with FLR (vfio_exp_config_write()).
 */
export function* vfioPciConfigRw(vdev: VfioPciCoreDevice, w: VfioPciConfigWrite): Thread<number> {
  if (w.reg === 'command') return yield* vfioBasicConfigWrite(vdev, w.value);
  if (w.reg === 'power') return yield* vfioPmConfigWrite(vdev, w.state);
  return yield* vfioExpConfigWrite(vdev);
}
