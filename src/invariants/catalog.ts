// Every id a check can report, with one line of what it means and the kernel rule behind it
// (`vdm list invariants`; docs/invariants/ has a page per invariant).

export interface InvariantInfo {
  id: string;
  /** Reported by the invariants (checked after every event) or by the explorer itself. */
  by: 'invariant' | 'explorer';
  summary: string;
  rule: string;
}

export const INVARIANTS: readonly InvariantInfo[] = [
  {
    id: 'MMIO_WHILE_DISABLED',
    by: 'invariant',
    summary:
      'a CPU, kernel or DMA access reaches a BAR while memory decode is off, in D3, in reset, runtime-suspended or after release',
    rule: 'drivers/vfio/pci: every BAR access path checks __vfio_pci_memory_enabled() under memory_lock',
  },
  {
    id: 'MAPPING_AFTER_REVOKE',
    by: 'invariant',
    summary:
      'after a zap or revoke returned, a present leaf or an importer mapping still reaches the revoked range',
    rule: 'vfio_pci_zap_bars() / vfio_pci_dma_buf_move(): disable = zap + revoke before the state change',
  },
  {
    id: 'DMA_AFTER_REVOKE',
    by: 'invariant',
    summary: "a device's DMA reaches a dma-buf's range after its revoke returned",
    rule: 'dma_buf_move_notify() + importer invalidate: no DMA to a revoked buffer once revoke returns',
  },
  {
    id: 'TRANSLATION',
    by: 'invariant',
    summary: "a present leaf maps a pfn other than the design's offset arithmetic gives",
    rule: 'the offset space of vm_file: region index above VFIO_PCI_OFFSET_SHIFT then BAR start + page offset (device file); vm_pgoff pages into the phys_vec ranges (dma-buf)',
  },
  {
    id: 'HUGE_LEAF',
    by: 'invariant',
    summary:
      'a huge leaf without VA and pfn alignment, outside its VMA, across ranges, or on a level the arch cannot mark special',
    rule: 'vfio_pci_mmap_huge_fault(): is_aligned_for_order() (09dfc8a5f2ce); vfio_pci_dma_buf_find_pfn(): one range; vmf_insert_pfn_pmd/pud() need pXX_special',
  },
  {
    id: 'GUP_CONSISTENCY',
    by: 'invariant',
    summary: 'fast and slow GUP disagree, or a page reference is taken through a pfnmap',
    rule: 'mm/gup.c: VM_PFNMAP / pte_special() refuse GUP on both paths',
  },
  {
    id: 'ISOLATION',
    by: 'invariant',
    summary:
      'a process reaches memory outside the ranges of the fds it holds, or a held device keeps an IOMMU translation into a released device',
    rule: 'vfio_pci_core_mmap() / dma-buf mmap: a mapping covers only its own BAR or ranges; a released device is reachable by no DMA',
  },
  {
    id: 'REFCOUNT',
    by: 'invariant',
    summary:
      'a reference count underflows, an object is freed twice, or left alive when every handle is gone',
    rule: 'fput()/dma_buf_put()/vfio_device_put_registration() balance',
  },
  {
    id: 'USE_AFTER_FREE',
    by: 'invariant',
    summary: 'an object is used after it was released',
    rule: 'kref lifetimes',
  },
  {
    id: 'ZAP_COVERAGE',
    by: 'invariant',
    summary: "a VMA that maps a device's BARs is one the device's zap cannot reach",
    rule: 'unmap_mapping_range() over the device inode (v6.10 on) / vma_list (v5.8 to v6.9)',
  },
  {
    id: 'SPURIOUS_FAULT',
    by: 'invariant',
    summary:
      'a CPU access inside an enabled, powered, unrevoked mapping takes a fault that returns SIGBUS or OOM',
    rule: 'vfio_pci_mmap_huge_fault(): SIGBUS only when memory is off or in low power; every fault in a block asks for the same leaf (c1d9dac0db16)',
  },
  {
    id: 'DEADLOCK',
    by: 'explorer',
    summary: 'every thread is blocked',
    rule: 'the kernel lock orders (kernel rule 13, docs/invariants/README.md)',
  },
  {
    id: 'LOCK_ORDER',
    by: 'explorer',
    summary: 'two locks taken in both orders across the explored executions (lockdep)',
    rule: 'lockdep',
  },
  {
    id: 'ERROR',
    by: 'explorer',
    summary: 'model code failed (a kernel BUG_ON, an exception) or an execution never ended',
    rule: 'BUG_ON()s of the modelled functions',
  },
  {
    id: 'EXPECT',
    by: 'explorer',
    summary: "an operation's outcome differs from its `expect:`",
    rule: 'the scenario author’s expectation',
  },
];
