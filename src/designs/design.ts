// Designs: the same kernel pieces wired differently. A design is a name and a set of options; the
// kernel model reads the options where the generations differ, so a reader sees, per kernel
// function, the variants side by side. docs/designs.md and docs/history.md
// describe each design and each option.

export type DesignName =
  | 'upstream'
  | 'dmabuf-backed'
  | 'shared-base'
  | 'v7.1'
  | 'v6.19'
  | 'v6.12'
  | 'v6.10'
  | 'v6.9'
  | 'v5.13'
  | 'v5.8'
  | 'v5.7';
export const DESIGN_NAMES: readonly DesignName[] = [
  'upstream',
  'dmabuf-backed',
  'shared-base',
  'v7.1',
  'v6.19',
  'v6.12',
  'v6.10',
  'v6.9',
  'v5.13',
  'v5.8',
  'v5.7',
];

/** Where the VFIO dma-buf generations differ (docs/history.md, "Generations"; docs/designs.md). */
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
   * callback) and permits pinned importers; G2 (v6.19) took any P2P importer but refused
   * dma_buf_pin() (.pin returning -EOPNOTSUPP, 61ceaf236115, v6.19-rc8); `any` is v6.19-rc1 to
   * rc7, before that fix: no .pin at all, so a pinned importer (non-ODP RDMA) attached and kept
   * its mapping through every revoke.
   */
  importers: 'revocable-any-pin' | 'any-no-pin' | 'any';
  /** VFIO_DEVICE_FEATURE_DMA_BUF exists (v6.19 on); before, the feature is unknown (-ENOTTY). */
  dmabufExport: boolean;
  /**
   * vfio_pci_mmap_huge_fault(): the fault address is rounded down to the block (c1d9dac0db16,
   * v6.15, bugzilla 220057). Without it (v6.12 to v6.15-rc5) only a fault at the block's first page
   * can be huge; any other falls back to PTEs, and an unaligned fault racing an aligned one in the
   * same block finds the PMD turned into a huge leaf under its PTE insert (VM_FAULT_OOM).
   */
  hugeFaultRoundsAddress: boolean;
  /**
   * vfio_pci_mmap_huge_fault(): the pfn must be aligned to the order (09dfc8a5f2ce, v6.13, now
   * is_aligned_for_order()). Without it a PMD/PUD leaf is built from a misaligned pfn.
   */
  hugeFaultChecksPfnAlignment: boolean;
  /** vfio_pci_mmap_ops has .huge_fault (v6.12 on, where the arch supports huge pfnmaps). */
  hugeFault: boolean;
  /**
   * How BAR mappings are found for zapping. `inode` (v6.10 on): every fd shares the device inode's
   * address_space and unmap_mapping_range() reaches them. `vma-list` (v5.8 to v6.9): each fault
   * records its VMA on vdev->vma_list under vma_lock and populates the whole VMA; a zap walks the
   * list, taking each mm's mmap_lock (the lock dance of that era). `eager` (v5.7): mmap populates
   * the whole mapping with remap_pfn_range() and nothing ever zaps it. `dmabuf` (the proposal,
   * Matt Evans' "vfio/pci: Add mmap() for DMABUFs"; docs/designs.md): every BAR mmap is backed by a single-range dma-buf made at mmap time, which
   * becomes the VMA's vm_file. `shared-base` (Christian König's alternative): the device file and
   * the dma-buf file share one base object type and one address_space (the device inode's).
   */
  mmapScheme: 'inode' | 'vma-list' | 'eager' | 'dmabuf' | 'shared-base';
  /**
   * dmabuf-backed: how far Jason Gunthorpe's progression goes (each step includes the earlier ones).
   * 1: mmap_prepare makes a one-range dma-buf and installs it as vm_file (it owns the device file
   * reference); vm_ops take their state from it. 2: faults translate through the buffer's ranges
   * (vfio_pci_dma_buf_find_pfn). 3: faults honour the buffer's revoke state (resv, registration,
   * memory_lock, re-check). 4: each buffer has its own address_space and its revoke zaps it; the
   * device-wide zap is gone. 5: a dma-buf fd can be mmapped directly. Other designs ignore it.
   */
  step: 1 | 2 | 3 | 4 | 5;
  /**
   * Where the fault path checks the buffer's revoke state (step >= 3, shared-base): `both` (the
   * v3/v4 protocol: under resv, then again under memory_lock), `resv` only (a revoke can land
   * between the check and the insert), or `memory_lock` only (the buffer's device is reached
   * without first checking, under resv, that the buffer is still live).
   */
  revokeCheck: 'both' | 'resv' | 'memory_lock';
  /** The fault path pins the device with vfio_device_try_get_registration() while it uses it. */
  faultPinsDevice: boolean;
  /**
   * vfio_pci_ioctl_reset(): the BAR zap before the D0 transition (v7.1: vfio_pci_zap_and_down_write
   * then D0) or after it, together with the revoke (the series from v3 on, debated in review).
   */
  resetZap: 'before-d0' | 'after-d0';
  /**
   * dmabuf-backed step >= 4: each dma-buf has its own address_space (`per-dmabuf`, the series), or
   * every dma-buf file of a device shares the device inode's (`shared`): any revoke then zaps every
   * BAR mapping of the device and the others refault.
   */
  addressSpace: 'per-dmabuf' | 'shared';
  /**
   * dmabuf-backed: where the device fd's mmap makes the dma-buf. `mmap` (every posted revision):
   * the legacy f_op->mmap (vfio_pci_core_mmap() -> vfio_pci_core_mmap_prep_dmabuf()) swaps the
   * buffer's file into vm_file before the core links the VMA, so the VMA lands in the buffer's
   * address_space. `mmap_prepare`: the same from f_op->mmap_prepare (step 1 of Jason Gunthorpe's
   * progression; no revision posted it). `mapped`: in vm_ops->mapped, after the VMA was linked into
   * the device file's address_space under the old vm_file.
   */
  mmapHook: 'mmap' | 'mmap_prepare' | 'mapped';
  /**
   * dmabuf-backed, a fix the model proposes (no revision posted it): the device-fd mmap rewrites
   * vm_pgoff to the buffer's own offset (0), so the revoke's unmap_mapping_range(0, size) covers
   * the VMA whatever BAR and offset it maps. Off, the `revision` decides what vm_pgoff the VMA
   * keeps (docs/designs.md, "The posted revisions").
   */
  normalizePgoff: boolean;
  /**
   * dmabuf-backed: the posted revision of Matt Evans' "vfio/pci: Add mmap() for DMABUFs" that is
   * modelled, in posting order. `v1` (2026-04-16): the device-fd mmap masks vm_pgoff to the page
   * offset inside the BAR and the buffer starts at the BAR's first byte (size = offset + length),
   * so the revoke's zap of [0, size) covers the VMA; a reset revokes (and so zaps) before the D0
   * transition. `v2` (2026-05-27), `v3` (2026-06-10), `v4` (2026-07-01, on v7.1): the buffer is the
   * mmapped span exactly and the VMA keeps its region-encoded vm_pgoff (remembered in
   * vma_pgoff_adjust for the fault path), so the zap misses BAR1-5 mappings and BAR0 mappings at an
   * offset; a reset revokes after D0. Choosing a revision also sets `mmapHook` and `resetZap` to
   * what it posted (an explicit option still wins). Other designs ignore it.
   */
  revision: 'v1' | 'v2' | 'v3' | 'v4';
  /** A variant driver with its own mmap: vfio_pci_zap_bars() on the device inode also runs on revoke. */
  zapBarsOnRevoke: boolean;
  /** VFIO_DEVICE_FEATURE_DMA_BUF_REVOKE (permanent revoke) exists. */
  permanentRevoke: boolean;
  /**
   * iommufd's type1 compat MAP_DMA of a vaddr inside a VFIO mmap finds the dma-buf under the VMA
   * and maps it as a revocable importer (the motivation of the thread); otherwise -EFAULT.
   */
  compatImportsDmabuf: boolean;
  /**
   * read/write through the fd fail with -EIO while memory is disabled (v5.8 on); v5.7 did the I/O
   * regardless.
   */
  rwChecksDecode: boolean;
  /** vma-list: a fault on a VMA already on the list returns without populating again (6a45ece4c9af, v5.13). */
  faultSkipsPopulated: boolean;
  /** read/write through the fd hold memory_lock only around each access (bc93b9ae0151, v5.13), not across the user copy. */
  rwLockPerAccess: boolean;
  /** dup_mmap() calls vm_ops->open before copying the parent's page tables (35e351780fa9, v6.9). */
  forkOpenBeforeCopy: boolean;
  /**
   * vfio_pci_dma_buf_cleanup() as in v7.1-rc1 to rc3 (1a8a5227f229, fixed by c64a647c84f3 in
   * v7.1-rc4): cleanup drains every buffer itself — set revoked, invalidate, wait for fences, put
   * the base kref, wait for the completion — even one the revoke path already drained; and the
   * revoke re-arms kref and completion only when it unrevokes. A buffer revoked when the last device
   * fd closes (memory decode off, D3, ...) has its kref put a second time: an underflow, then a wait
   * on a completion already consumed. Off (v7.1): cleanup drains through the revoke path, which
   * skips revoked buffers and re-arms at the end of each revoke. Only with revokeWaitsForImporters.
   */
  cleanupPutsRevoked: boolean;
  /**
   * vfio_pci_core_feature_dma_buf() as in v6.19.0 to 6.19.10 (5d74781ebc86, fixed by e98137f0a874):
   * when dma_buf_fd() fails (-EMFILE: the caller's RLIMIT_NOFILE is used up), the error path puts
   * the new buffer — whose release takes it off the device's list, puts the device registration
   * and frees priv — and then falls through to the unwinding of the earlier steps: the registration
   * is put and priv (with its phys_vec) freed a second time. fput() defers the release to the
   * return to user space, so the release is what then reads the freed priv (USE_AFTER_FREE). Off:
   * the buffer put is the whole error path.
   */
  exportFdErrorUnwindsTwice: boolean;
  /**
   * The generation of the VFIO core and of vfio-pci's power handling around the BAR paths. `v6`
   * (v6.9 on): D3hot zaps and revokes like a memory disable and memory is enabled only in D0, and
   * resets and close move the device to D0 first (2b2c651baf1c, v5.19); the low-power feature and
   * pm_runtime_engaged (v6.1); dev_set->lock and the vfio core's open count and registration
   * (v5.15 on); /dev/iommu (v6.2). `v5` (the v5.7 to v5.13 designs): none of these — a power-state
   * write only sets the state, memory enabled is the command bit alone, LOW_POWER_ENTRY/EXIT are
   * unknown features (-ENOTTY), open and release serialise on vfio-pci's reflck->lock
   * (vfio_pci_release(), vfio_pci_disable()), the core drops device references with
   * vfio_device_put() and unbinding waits in vfio_del_group_dev(); there is no iommufd.
   */
  coreEra: 'v5' | 'v6';
  /**
   * copy_huge_pmd() re-reads a special huge PMD of the parent under both page-table locks before
   * copying it (a fix the model proposes). false is the kernel since the huge pfnmap series (v6.12):
   * it copies the pmdp_get_lockless() snapshot taken before the locks, trusting that the parent's
   * mmap_lock (held for write) keeps the PMD still, which an unmap_mapping_range() zap (no
   * mmap_lock) does not.
   */
  forkRechecksHugePmd: boolean;
  /**
   * vfio_pci_mmap_ops offers .huge_fault only where the arch's PMD leaves have a special bit
   * (CONFIG_ARCH_SUPPORTS_HUGE_PFNMAP). false: a driver that installs huge pfnmap leaves on any THP
   * arch (the hazard of the seed thread; TTM's huge faults of 2020 did so).
   */
  hugeFaultArchGuard: boolean;
  /**
   * iommufd's iopt_release_pages() for dma-buf pages. `detach-first` (v7.2, f2d70dbd3dce): the
   * dma-buf block (unpin, dma_buf_detach(), dma_buf_put()) runs before the pages' contents are
   * torn down. `destroy-first` (6.19.0 to 7.1.4): mutex_destroy(&pages->mutex) and the rest come
   * first, while the attachment is still on the buffer's list, so an exporter's revoke can still
   * call iopt_revoke_notify(), which locks the destroyed mutex (USE_AFTER_FREE).
   */
  ioptReleaseOrder: 'detach-first' | 'destroy-first';
  /**
   * iopt_release_pages() takes the buffer's reservation lock around dma_buf_unpin() (e745cd2c749e,
   * v7.2). false (v7.1, where dma_buf_pin() came with 8c5f9645c389): the unpin runs without it and
   * dma_resv_assert_held() fires (ERROR). Only where iommufd pins (importers: revocable-any-pin).
   */
  ioptUnpinTakesResv: boolean;
  /**
   * iopt_area_add_access() refuses dma-buf pages with -EINVAL before taking pages->mutex
   * (5f3fc0ad9a41, v7.2). false (6.19 to 7.1): an in-kernel access pin (`access_pin`) of a
   * dma-buf area takes pages->mutex and, with no domain filled, pins "user" pages through GUP with
   * mmap_lock under it: pages->mutex -> mmap_lock, against mmap_lock -> dma_resv (dma_resv_lockdep())
   * -> pages->mutex (iopt_revoke_notify()): LOCK_ORDER.
   */
  accessPinRejectsDmabuf: boolean;
  /**
   * The PCI reset methods (pcie_flr() and the others __pci_reset_function_locked() walks) call
   * pci_dev_reset_iommu_prepare() before the reset and pci_dev_reset_iommu_done() after it
   * (c279e83953d9 and f5b16b802174, v7.0). For a device with ATS behind an IOMMU each takes the
   * IOMMU group's mutex: VFIO_DEVICE_RESET and the emulated FLR then take &group->mutex inside
   * &vdev->memory_lock. false: v6.19 and older, whose resets do not call into the IOMMU core.
   */
  resetPreparesIommu: boolean;
  /**
   * dmabuf-backed: the lock a new buffer is listed on the device under. `memory_lock` (v1 to v5 as
   * posted): vfio_pci_dmabuf_export() takes memory_lock for write to list it and read the revoke
   * state — from the mmap path too, where mmap_lock is held for write, adding mmap_lock ->
   * memory_lock (write) to the lock graph. `none` (the change after v5): a dedicated
   * vdev->dmabuf_lock guards the list and a shadow of the revoke state, which the revoke path
   * updates under memory_lock and dmabuf_lock; export and release take only dmabuf_lock (then
   * resv). Other designs ignore it.
   */
  exportLock: 'memory_lock' | 'none';
  /**
   * The dma-buf core's file release, dma_buf_file_release(), sets dmabuf->file to NULL (Matt Evans,
   * "dma-buf: Annul dmabuf->file on file release", posted in 2026, not merged as far as the list
   * shows), so VFIO's get_file_active(&priv->dmabuf->file) in vfio_pci_dma_buf_move() and
   * vfio_pci_dma_buf_cleanup() finds NULL and skips the buffer. false (every design): since
   * 4ab59c3c638c (v5.8) the exporter's release runs from the dentry's d_release, so a buffer whose
   * dentry an O_PATH fd holds outlives its struct file, stays on vdev->dmabufs, and the walks read
   * the freed file (USE_AFTER_FREE; docs/findings.md #5).
   */
  dmabufFileAnnulled: boolean;
}

export interface Design {
  name: DesignName;
  summary: string;
  options: DesignOptions;
}

/** upstream's options (v7.2); every other design says only how it differs. */
const UPSTREAM: DesignOptions = {
  revokeWaitsForImporters: true,
  closeOrder: 'cleanup-first',
  importers: 'revocable-any-pin',
  dmabufExport: true,
  hugeFaultRoundsAddress: true,
  hugeFaultChecksPfnAlignment: true,
  hugeFault: true,
  mmapScheme: 'inode',
  faultSkipsPopulated: true,
  rwLockPerAccess: true,
  forkOpenBeforeCopy: true,
  rwChecksDecode: true,
  step: 5,
  revokeCheck: 'both',
  faultPinsDevice: true,
  resetZap: 'before-d0',
  addressSpace: 'per-dmabuf',
  mmapHook: 'mmap',
  normalizePgoff: false,
  revision: 'v4',
  zapBarsOnRevoke: false,
  permanentRevoke: false,
  compatImportsDmabuf: false,
  cleanupPutsRevoked: false,
  exportFdErrorUnwindsTwice: false,
  coreEra: 'v6',
  forkRechecksHugePmd: false,
  hugeFaultArchGuard: true,
  resetPreparesIommu: true,
  exportLock: 'memory_lock',
  ioptReleaseOrder: 'detach-first',
  ioptUnpinTakesResv: true,
  accessPinRejectsDmabuf: true,
  dmabufFileAnnulled: false,
};

/** v7.1 (the newest mainline whose source the model was read from, before the v7.2 fixes). */
const V7_1: DesignOptions = {
  ...UPSTREAM,
  ioptReleaseOrder: 'destroy-first',
  ioptUnpinTakesResv: false,
  accessPinRejectsDmabuf: false,
};

/** What v4 (the newest revision read) chose; REVISION_OPTIONS below lists every revision. */
const REVISION_OPTIONS_V4: Partial<DesignOptions> = {
  mmapHook: 'mmap',
  resetZap: 'after-d0',
  revision: 'v4',
};

/** Before v6.19 there are no dma-bufs; before v6.12 no huge faults; before v7.0 no IOMMU reset hooks. */
const V6_10: DesignOptions = {
  ...V7_1,
  dmabufExport: false,
  hugeFault: false,
  resetPreparesIommu: false,
};

/** The vma_list era (v5.13 as the base; v5.8 and v6.9 differ from it). */
const VMA_LIST: DesignOptions = { ...V6_10, mmapScheme: 'vma-list', forkOpenBeforeCopy: false };

export const DESIGNS: Record<DesignName, Design> = {
  upstream: {
    name: 'upstream',
    summary:
      'mainline v7.2 (v7.1 as read, with the iommufd fixes merged for v7.2): VFIO BAR mmap through the device fd, dma-buf export with a revoke that waits for importers',
    options: UPSTREAM,
  },
  'dmabuf-backed': {
    name: 'dmabuf-backed',
    summary:
      'the proposal as posted (Matt Evans, "vfio/pci: Add mmap() for DMABUFs", option `revision`, default v4 on v7.1): every VFIO mmap backed by a dma-buf made in ->mmap; faults honour revoke; per-dma-buf address_space; dma-buf fds mmappable; permanent revoke; the compat MAP_DMA import (the goal, not posted) only with compatImportsDmabuf',
    options: {
      ...UPSTREAM,
      mmapScheme: 'dmabuf',
      ...REVISION_OPTIONS_V4,
      permanentRevoke: true,
      // No revision posts the compat MAP_DMA import (the thread's stated goal): an explicit option.
      compatImportsDmabuf: false,
    },
  },
  'shared-base': {
    name: 'shared-base',
    summary:
      "Christian König's alternative: the device file and the dma-buf file share one base object and one vm_ops, and one address_space (the device inode's)",
    options: {
      ...UPSTREAM,
      mmapScheme: 'shared-base',
      addressSpace: 'shared',
      permanentRevoke: true,
      compatImportsDmabuf: true,
    },
  },
  'v7.1': {
    name: 'v7.1',
    summary:
      "mainline v7.1: as upstream, but iommufd destroys the dma-buf pages' mutex before detaching, unpins without the reservation lock, and pins dma-buf areas for in-kernel accesses",
    options: V7_1,
  },
  'v6.19': {
    name: 'v6.19',
    summary:
      'dma-buf export as first shipped (5d74781ebc86): revoke only notifies; close disables before cleanup',
    options: {
      ...V7_1,
      revokeWaitsForImporters: false,
      closeOrder: 'disable-first',
      importers: 'any-no-pin',
      exportFdErrorUnwindsTwice: true,
      resetPreparesIommu: false,
    },
  },
  'v6.12': {
    name: 'v6.12',
    summary:
      'huge_fault for PMD/PUD as first shipped (f9e54c3a2f5b): no pfn alignment check, no rounding of the fault address; no dma-buf export',
    options: {
      ...V7_1,
      dmabufExport: false,
      hugeFaultRoundsAddress: false,
      hugeFaultChecksPfnAlignment: false,
      resetPreparesIommu: false,
    },
  },
  'v6.10': {
    name: 'v6.10',
    summary:
      'one address_space per device inode and unmap_mapping_range() (aac6db75a9fc and its series): a fault inserts one pfn with vmf_insert_pfn under memory_lock; no huge_fault, no dma-buf export',
    options: V6_10,
  },
  'v6.9': {
    name: 'v6.9',
    summary:
      'the vma_list era as in v5.13, with dup_mmap() calling vm_ops->open before copying the page tables (35e351780fa9): a forked VMA keeps PTEs the vma_list does not know',
    options: { ...VMA_LIST, forkOpenBeforeCopy: true },
  },
  'v5.13': {
    name: 'v5.13',
    summary:
      'read/write take memory_lock only around each access (bc93b9ae0151); a fault on a populated VMA does not populate again (6a45ece4c9af)',
    options: { ...VMA_LIST, coreEra: 'v5' },
  },
  'v5.8': {
    name: 'v5.8',
    summary:
      "the CVE-2020-12888 fixes: memory_lock; faults populate the whole VMA under vma_lock and record it on vma_list; zapping walks vma_list taking each mm's mmap_lock; read/write hold memory_lock across the user copy",
    options: { ...VMA_LIST, faultSkipsPopulated: false, rwLockPerAccess: false, coreEra: 'v5' },
  },
  'v5.7': {
    name: 'v5.7',
    summary:
      'before CVE-2020-12888: mmap populates the whole BAR mapping eagerly with remap_pfn_range(); disabling memory decode, D3 or reset zaps nothing; read/write do not check decode',
    options: {
      ...VMA_LIST,
      mmapScheme: 'eager',
      faultSkipsPopulated: false,
      rwLockPerAccess: false,
      rwChecksDecode: false,
      coreEra: 'v5',
    },
  },
};

/**
 * What each posted revision of the dmabuf-backed series chose where the model has an option
 * (docs/designs.md, "The posted revisions"). What the options cannot say (v1's vm_pgoff and buffer
 * layout) the kernel model reads from `revision` itself.
 */
export const REVISION_OPTIONS: Record<DesignOptions['revision'], Partial<DesignOptions>> = {
  // v1 6/9: vfio_pci_lock_zap_revoke_bars() at the top of vfio_pci_ioctl_reset(), before D0.
  v1: { mmapHook: 'mmap', resetZap: 'before-d0' },
  // v2 on: "Moved vfio_pci_zap_revoke_bars() back after D0 transition" (v2 cover letter).
  v2: { mmapHook: 'mmap', resetZap: 'after-d0' },
  v3: { mmapHook: 'mmap', resetZap: 'after-d0' },
  v4: REVISION_OPTIONS_V4,
};

/**
 * A design by name, with options overridden (unknown names and options are refused). On
 * dmabuf-backed, a `revision` override also brings that revision's options, under the other
 * overrides.
 */
export function designOf(name: string, overrides: Partial<DesignOptions> = {}): Design {
  const d = DESIGNS[name as DesignName];
  if (!d) throw new Error(`unknown design "${name}": expected one of ${DESIGN_NAMES.join(', ')}`);
  for (const k of Object.keys(overrides)) {
    if (!(k in d.options)) throw new Error(`design ${name} has no option "${k}"`);
  }
  const rev =
    d.options.mmapScheme === 'dmabuf' && overrides.revision ? REVISION_OPTIONS[overrides.revision] : {};
  return { ...d, options: { ...d.options, ...rev, ...overrides } };
}

/** The values each design option takes (scenario files, the CLI and the JSON Schema check them). */
export const OPTION_VALUES: { [K in keyof DesignOptions]: readonly DesignOptions[K][] } = {
  revokeWaitsForImporters: [true, false],
  closeOrder: ['cleanup-first', 'disable-first'],
  importers: ['revocable-any-pin', 'any-no-pin', 'any'],
  dmabufExport: [true, false],
  hugeFaultRoundsAddress: [true, false],
  hugeFaultChecksPfnAlignment: [true, false],
  hugeFault: [true, false],
  mmapScheme: ['inode', 'vma-list', 'eager', 'dmabuf', 'shared-base'],
  step: [1, 2, 3, 4, 5],
  revokeCheck: ['both', 'resv', 'memory_lock'],
  faultPinsDevice: [true, false],
  resetZap: ['before-d0', 'after-d0'],
  addressSpace: ['per-dmabuf', 'shared'],
  mmapHook: ['mmap', 'mmap_prepare', 'mapped'],
  normalizePgoff: [true, false],
  revision: ['v1', 'v2', 'v3', 'v4'],
  zapBarsOnRevoke: [true, false],
  permanentRevoke: [true, false],
  compatImportsDmabuf: [true, false],
  rwChecksDecode: [true, false],
  faultSkipsPopulated: [true, false],
  rwLockPerAccess: [true, false],
  forkOpenBeforeCopy: [true, false],
  cleanupPutsRevoked: [true, false],
  exportFdErrorUnwindsTwice: [true, false],
  coreEra: ['v6', 'v5'],
  forkRechecksHugePmd: [false, true],
  hugeFaultArchGuard: [true, false],
  ioptReleaseOrder: ['detach-first', 'destroy-first'],
  ioptUnpinTakesResv: [true, false],
  accessPinRejectsDmabuf: [true, false],
  resetPreparesIommu: [true, false],
  exportLock: ['memory_lock', 'none'],
  dmabufFileAnnulled: [false, true],
};

/**
 * The lock order each design's kernel asserts, as lockdep chains named by class, that lockdep treats
 * as observed (a machine's `lockChains` adds its own): any path that takes two of a chain's locks
 * the other way round closes a cycle with it and is a LOCK_ORDER, whether or not a scenario thread
 * also takes them in the declared order. docs/designs.md, "Lock order", shows each design's.
 * - Every design: drivers/dma-buf/dma-resv.c: dma_resv_lockdep(), a subsys initcall under
 *   CONFIG_LOCKDEP, takes mmap_lock for read, a reservation lock, fs_reclaim and i_mmap_rwsem for
 *   write in that order (mmap_lock -> dma_resv -> fs_reclaim -> i_mmap_rwsem).
 * - vma_list designs (v5.8 to v6.9): the order vfio_pci_zap_and_vma_lock()'s comment states and
 *   its lock dance keeps: mmap_lock -> vma_lock -> memory_lock.
 * - The others with memory_lock (v6.10 on): a fault takes memory_lock under mmap_lock
 *   (vfio_pci_mmap_huge_fault()), a zap takes i_mmap_rwsem under memory_lock
 *   (vfio_pci_zap_bars()): mmap_lock -> memory_lock -> i_mmap_rwsem.
 * - With dma-buf export (v6.19 on): vfio_pci_dma_buf_move() asserts memory_lock held for write and
 *   takes each buffer's reservation lock; iommufd's invalidate callback takes pages->mutex under
 *   it (the order iopt_alloc_dmabuf_pages()'s comment gives for the dma-buf pages class):
 *   memory_lock -> dma_resv -> &pages->mutex.
 */
export function designLockChains(design: Design): readonly (readonly string[])[] {
  const o = design.options;
  const chains: string[][] = [
    ['&mm->mmap_lock', 'reservation_ww_class_mutex', 'fs_reclaim', '&mapping->i_mmap_rwsem'],
  ];
  if (o.mmapScheme === 'vma-list') chains.push(['&mm->mmap_lock', '&vdev->vma_lock', '&vdev->memory_lock']);
  else if (o.mmapScheme !== 'eager')
    chains.push(['&mm->mmap_lock', '&vdev->memory_lock', '&mapping->i_mmap_rwsem']);
  if (o.dmabufExport) chains.push(['&vdev->memory_lock', 'reservation_ww_class_mutex', '&pages->mutex']);
  return chains;
}
