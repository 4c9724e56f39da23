// Config-space writes that change whether the BARs decode (drivers/vfio/pci/vfio_pci_config.c):
// the PCI_COMMAND memory bit, the power state, and function-level reset through PCIe DEVCTL.
// Each one that can disable decode zaps every BAR mapping and revokes every dma-buf under
// memory_lock held for write *before* touching the hardware, and unrevokes afterwards only if
// memory is enabled again (KERNEL.md §1.7).

import type { Thread } from '../../../sched/program.js';
import {
  PCI_COMMAND_MEMORY,
  type PowerState,
  pciSetPowerState,
  pciTryResetFunction,
  pciWriteCommand,
} from '../../pci/pci.js';
import { type VfioPciCoreDevice, vfioPciMemoryEnabled, vfioPciZapAndDownWriteMemoryLock } from './core.js';
import { vfioPciDmaBufMove } from './dmabuf.js';

/**
 * drivers/vfio/pci/vfio_pci_config.c: vfio_basic_config_write() for PCI_COMMAND. Every write that
 * leaves the memory bit clear zaps first (vfio_pci_zap_and_down_write_memory_lock) and revokes the
 * dma-bufs, whatever the bit was before: the kernel tests only the new value. A write that sets it
 * takes the lock plainly. The write goes to the hardware, then the virtual register is updated,
 * then the dma-bufs are unrevoked if memory is enabled, then the lock is released. (The kernel also
 * reads the physical and virtual command registers first, for its backdoor-reset BAR restore,
 * which the model does not have; those reads are left out.)
 */
export function* vfioPciCommandWrite(vdev: VfioPciCoreDevice, value: number): Thread<number> {
  const newMem = (value & PCI_COMMAND_MEMORY) !== 0;
  if (!newMem) {
    yield* vfioPciZapAndDownWriteMemoryLock(vdev);
    yield* vfioPciDmaBufMove(vdev, true);
  } else {
    yield* vdev.memoryLock.downWrite();
  }
  yield* pciWriteCommand(vdev.pdev, value);
  yield* vdev.vconfigCommand.write(value);
  yield* unrevokeIfEnabled(vdev);
  yield* vdev.memoryLock.upWrite();
  return 0;
}

/** The end of every revoke site (§1.7): move(false) only if memory is enabled again. */
export function* unrevokeIfEnabled(vdev: VfioPciCoreDevice): Thread<void> {
  if (yield* vfioPciMemoryEnabled(vdev)) yield* vfioPciDmaBufMove(vdev, false);
}

/**
 * vfio_pm_config_write() -> vfio_lock_and_set_power_state(): going to D3hot zaps first under the
 * write lock; a shallower state only takes the lock.
 */
export function* vfioPciPowerStateWrite(vdev: VfioPciCoreDevice, state: PowerState): Thread<number> {
  if (state === 'D3hot') {
    yield* vfioPciZapAndDownWriteMemoryLock(vdev);
    yield* vfioPciDmaBufMove(vdev, true);
  } else {
    yield* vdev.memoryLock.downWrite();
  }
  const ret = yield* pciSetPowerState(vdev.pdev, state);
  yield* unrevokeIfEnabled(vdev);
  yield* vdev.memoryLock.upWrite();
  return ret;
}

/**
 * vfio_exp_config_write() with PCI_EXP_DEVCTL_BCR_FLR (needs PCI_EXP_DEVCAP_FLR): zap under the
 * write lock, then pci_try_reset_function(). Without FLR support the write does nothing.
 */
export function* vfioPciFlrWrite(vdev: VfioPciCoreDevice): Thread<number> {
  if (!vdev.pdev.resetCapable) return 0;
  yield* vfioPciZapAndDownWriteMemoryLock(vdev);
  yield* vfioPciDmaBufMove(vdev, true);
  const ret = yield* pciTryResetFunction(vdev.pdev);
  yield* unrevokeIfEnabled(vdev);
  yield* vdev.memoryLock.upWrite();
  return ret;
}
