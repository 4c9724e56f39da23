// The vfio-pci drivers a scenario device can be bound to (`driver:`), by name (docs/vfio-pci.md,
// "Variant drivers"). A new variant driver is one file exporting its VfioPciDriver, one line here
// and its name in driver-names.ts.

import type { VfioPciDriver } from './driver.js';
import type { VfioPciDriverName } from './driver-names.js';
import { NVGRACE_GPU_DRIVER } from './nvgrace-gpu.js';
import { VFIO_PCI_DRIVER } from './vfio_pci.js';

export const VFIO_PCI_DRIVERS: Record<VfioPciDriverName, VfioPciDriver> = {
  'vfio-pci': VFIO_PCI_DRIVER,
  'nvgrace-gpu': NVGRACE_GPU_DRIVER,
};

export { VFIO_PCI_DRIVER_NAMES, type VfioPciDriverName } from './driver-names.js';
