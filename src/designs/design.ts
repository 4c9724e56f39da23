// Designs: the same kernel pieces wired differently. A design is a name and a set of options; the
// kernel model reads the options where the generations differ, so a reader sees, per kernel
// function, the variants side by side (DESIGN.md "designs"). docs/designs.md and docs/history.md
// describe each design and each option.

export type DesignName = 'upstream' | 'v6.19' | 'v6.12' | 'v6.10';
export const DESIGN_NAMES: readonly DesignName[] = ['upstream', 'v6.19', 'v6.12', 'v6.10'];

/** Where the VFIO dma-buf generations differ (KERNEL.md §2, §1.8). */
export interface DesignOptions {
  /**
   * vfio_pci_dma_buf_move(vdev, true): G3 (v7.1) invalidates, waits for fences and waits until
   * every importer has unmapped before it returns; G2 (v6.19) only notifies (move_notify), with no
   * waiting at all, so importer DMA may continue until the importer reacts.
   */
  revokeWaitsForImporters: boolean;
  /**
   * vfio_pci_core_close_device(): v7.1 cleans the dma-bufs up before disabling the function
   * (d97708701434); v6.19 to v7.0.9 disabled first, so importers kept valid mappings while memory
   * decode was cleared (CVE-2026-53322).
   */
  closeOrder: 'cleanup-first' | 'disable-first';
  /**
   * Importers VFIO accepts: G3 demands dma_buf_attach_revocable() (an invalidate_mappings
   * callback) and permits pinned importers; G2 took any P2P importer but refused dma_buf_pin()
   * (.pin returning -EOPNOTSUPP, 1f97d9dc).
   */
  importers: 'revocable-any-pin' | 'any-no-pin';
  /** VFIO_DEVICE_FEATURE_DMA_BUF exists (v6.19 on); before, the feature is unknown (-ENOTTY). */
  dmabufExport: boolean;
  /**
   * vfio_pci_mmap_huge_fault(): the fault address is rounded down to the block (09dfc8a5f2ce).
   * Without it (v6.12 as first shipped) only a fault at the block's first page can be huge; any
   * other falls back to PTEs.
   */
  hugeFaultRoundsAddress: boolean;
  /**
   * vfio_pci_mmap_huge_fault(): the pfn must be aligned to the order (c1d9dac0db16, now
   * is_aligned_for_order()). Without it a PMD/PUD leaf is built from a misaligned pfn.
   */
  hugeFaultChecksPfnAlignment: boolean;
  /** vfio_pci_mmap_ops has .huge_fault (v6.12 on, where the arch supports huge pfnmaps). */
  hugeFault: boolean;
}

export interface Design {
  name: DesignName;
  summary: string;
  options: DesignOptions;
}

export const DESIGNS: Record<DesignName, Design> = {
  upstream: {
    name: 'upstream',
    summary:
      'mainline v7.1: VFIO BAR mmap through the device fd, dma-buf export with a revoke that waits for importers',
    options: {
      revokeWaitsForImporters: true,
      closeOrder: 'cleanup-first',
      importers: 'revocable-any-pin',
      dmabufExport: true,
      hugeFaultRoundsAddress: true,
      hugeFaultChecksPfnAlignment: true,
      hugeFault: true,
    },
  },
  'v6.19': {
    name: 'v6.19',
    summary:
      'dma-buf export as first shipped (5d74781ebc86): revoke only notifies; close disables before cleanup',
    options: {
      revokeWaitsForImporters: false,
      closeOrder: 'disable-first',
      importers: 'any-no-pin',
      dmabufExport: true,
      hugeFaultRoundsAddress: true,
      hugeFaultChecksPfnAlignment: true,
      hugeFault: true,
    },
  },
  'v6.12': {
    name: 'v6.12',
    summary:
      'huge_fault for PMD/PUD as first shipped (f9e54c3a2f5b): no pfn alignment check, no rounding of the fault address; no dma-buf export',
    options: {
      revokeWaitsForImporters: true,
      closeOrder: 'cleanup-first',
      importers: 'revocable-any-pin',
      dmabufExport: false,
      hugeFaultRoundsAddress: false,
      hugeFaultChecksPfnAlignment: false,
      hugeFault: true,
    },
  },
  'v6.10': {
    name: 'v6.10',
    summary:
      'one address_space per device inode and unmap_mapping_range() (aac6db75a9fc and its series): a fault inserts one pfn with vmf_insert_pfn under memory_lock; no huge_fault, no dma-buf export',
    options: {
      revokeWaitsForImporters: true,
      closeOrder: 'cleanup-first',
      importers: 'revocable-any-pin',
      dmabufExport: false,
      hugeFaultRoundsAddress: true,
      hugeFaultChecksPfnAlignment: true,
      hugeFault: false,
    },
  },
};

/** A design by name, with options overridden (unknown names and options are refused). */
export function designOf(name: string, overrides: Partial<DesignOptions> = {}): Design {
  const d = DESIGNS[name as DesignName];
  if (!d) throw new Error(`unknown design "${name}": expected one of ${DESIGN_NAMES.join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!(k in d.options)) throw new Error(`design ${name} has no option "${k}"`);
  }
  return { ...d, options: { ...d.options, ...overrides } };
}
