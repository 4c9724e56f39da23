// The model's lock classes under the names the kernel's lockdep gives them: the lock's expression
// at its init (lockdep names a class after the variable or field the init macro was given), so
// that `vdm lockdep` and reports print what a kernel splat would. Two locks are not kernel locks:
// the TLB-shootdown and IOTLB-sync rw_semaphores stand for waits the kernel does with IPIs and
// with the IOMMU driver's flush, which lockdep does not see.

/** Model lock class -> the kernel's lockdep class name. */
const KERNEL_NAMES: Record<string, string> = {
  mmap_lock: '&mm->mmap_lock',
  memory_lock: '&vdev->memory_lock',
  vma_lock: '&vdev->vma_lock',
  dmabuf_lock: '&vdev->dmabuf_lock',
  remap_lock: '&nvdev->remap_lock',
  i_mmap_rwsem: '&mapping->i_mmap_rwsem',
  'dev_set->lock': '&dev_set->lock',
  'reflck->lock': '&reflck->lock',
  reservation_ww_class_mutex: 'reservation_ww_class_mutex',
  iova_rwsem: '&iopt->iova_rwsem',
  ioas_lock: '&access->ioas_lock',
  'iommu->lock': '&iommu->lock',
  'group->mutex': '&group->mutex',
  iopt_pages_dmabuf_mutex: '&pages->mutex',
  page_table_lock: '&mm->page_table_lock',
  file_lock: '&newf->file_lock',
  device_lock: '&dev->mutex',
  // Split page-table locks: one lockdep class for PMD and PTE tables alike (ptlock_init()).
  pmd_lock: 'ptlock_ptr(ptdesc) [PMD table]',
  ptl: 'ptlock_ptr(ptdesc) [PTE table]',
  tlb_shootdown: 'TLB shootdown (model only: an IPI wait, not a lock)',
  iotlb_sync: 'IOTLB sync (model only: the IOMMU flush wait, not a lock)',
};

/** Kernel lockdep class name -> the model's class (the first model class with that name). */
const MODEL_CLASSES = new Map<string, string>();
for (const [model, kernel] of Object.entries(KERNEL_NAMES))
  if (!MODEL_CLASSES.has(kernel)) MODEL_CLASSES.set(kernel, model);
// The split page-table lock class as the kernel spells it stands for the PTE-table locks.
MODEL_CLASSES.set('ptlock_ptr(ptdesc)', 'ptl');

/**
 * The model's class for a lock named as the kernel's lockdep names it (a machine's `lockChains`); a
 * name the model has no lock for (`cpu_hotplug_lock`, `&type->i_mutex_dir_key#4`) is a class of its
 * own. A model class name is taken as it is too.
 */
export function modelLockClass(name: string): string {
  const slash = name.lastIndexOf('/');
  const base = slash > 0 && /^\d+$/.test(name.slice(slash + 1)) ? name.slice(0, slash) : name;
  const sub = base === name ? '' : name.slice(slash);
  return `${MODEL_CLASSES.get(base) ?? base}${sub}`;
}

/**
 * The kernel's name for a model lock class; a lockdep subclass (`class/N`, from a *_nested()
 * acquisition) keeps its `/N` as lockdep prints it. A class the table does not know (a test's
 * own lock) is shown as it is.
 */
export function kernelLockName(cls: string): string {
  const slash = cls.lastIndexOf('/');
  const base = slash > 0 && /^\d+$/.test(cls.slice(slash + 1)) ? cls.slice(0, slash) : cls;
  const sub = base === cls ? '' : cls.slice(slash);
  return `${KERNEL_NAMES[base] ?? base}${sub}`;
}
