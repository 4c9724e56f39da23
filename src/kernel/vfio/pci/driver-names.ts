// The names a scenario device's `driver:` takes (src/kernel/vfio/pci/drivers.ts registers one
// driver under each), and the designs each is modelled on, apart from the drivers themselves so
// that the scenario schema and loader can use them.

export const VFIO_PCI_DRIVER_NAMES = ['vfio-pci', 'nvgrace-gpu'] as const;
export type VfioPciDriverName = (typeof VFIO_PCI_DRIVER_NAMES)[number];

/**
 * The designs a driver is modelled on, when not all of them. nvgrace-gpu: v6.19, where
 * a23b10608d42 landed, and later (the proposals are on v7.1); the history designs before it had
 * other forms of the driver, or none (it came in v6.8), on a core it was not written for. On any
 * other design the device does not probe: it is never registered, and opening it fails (-ENODEV).
 */
export const DRIVER_DESIGNS: Partial<Record<VfioPciDriverName, readonly string[]>> = {
  'nvgrace-gpu': ['upstream', 'dmabuf-backed', 'shared-base', 'v7.1', 'v6.19'],
};
