// History designs are their era: every example runs on every history design with the default
// schedule (`vdm run`), and the lock classes and kernel functions in its trace must be ones that
// kernel had. Each design's allow-list below is what the kernel of that release has on the paths the
// model covers; anything else in a trace (a lock or function from a later release) fails the test.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DesignName, designOf } from '../../src/designs/design.js';
import { PLUMBING_FRAMES } from '../../src/report/race-diagram.js';
import { runScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

const EXAMPLES = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');

/** The lock class of a lock object, from its name (unknown names are reported as such). */
function lockClass(name: string): string {
  const classes: [RegExp, string][] = [
    [/\.mmap_lock$/, 'mmap_lock'],
    [/\.tlb$/, 'tlb_shootdown'],
    [/\.page_table_lock$/, 'page_table_lock'],
    [/\.pmd_lock@\w+$/, 'pmd_lock'],
    [/\.ptl@\w+$/, 'ptl'],
    [/\.i_mmap_rwsem$/, 'i_mmap_rwsem'],
    [/\.memory_lock$/, 'memory_lock'],
    [/\.vma_lock$/, 'vma_lock'],
    [/\.dev_set\.lock$/, 'dev_set->lock'],
    [/\.reflck\.lock$/, 'reflck->lock'],
    [/\.iopt_pages\.mutex$/, 'iopt_pages_dmabuf_mutex'],
    [/\.resv$/, 'reservation_ww_class_mutex'],
    [/\.iotlb$/, 'iotlb_sync'],
    [/\.iova_rwsem$/, 'iova_rwsem'],
    [/\.access\.ioas_lock$/, 'ioas_lock'],
    [/\.iommu_lock$/, 'iommu->lock'],
    [/\.group\.mutex$/, 'group->mutex'],
    [/\.remap_lock$/, 'remap_lock'],
    [/\.file_lock$/, 'file_lock'],
    [/\.device_lock$/, 'device_lock'],
  ];
  for (const [re, cls] of classes) if (re.test(name)) return cls;
  return `unknown lock ${name}`;
}

const LOCK_OPS = /^(lock|unlock|try|down_|up_)/;

/** What every era has: the mm, fs, PCI, IOMMU and type1 paths the model covers. */
const MM_LOCKS = [
  'mmap_lock',
  'tlb_shootdown',
  'page_table_lock',
  'pmd_lock',
  'ptl',
  'i_mmap_rwsem',
  'iotlb_sync',
  // vfio_iommu_type1.c's iommu->lock: type1 in every era
  'iommu->lock',
  // fs/file.c's files->file_lock (close, fork) and the driver core's device_lock (unbind)
  'file_lock',
  'device_lock',
];
const KERNEL_ALL = [
  // mm/, anonymous memory and userfaultfd (fs/userfaultfd.c, mm/userfaultfd.c: every era has them)
  'mmap_anon',
  // kernel/locking/mutex.c (with its debug check of a destroyed mutex)
  'mutex_lock',
  'do_anonymous_page',
  'do_wp_page',
  'handle_userfault',
  'userfaultfd_copy',
  'copy_page_range',
  'copy_pmd_range',
  'copy_huge_pmd',
  'copy_pte_range',
  'cpu_access',
  'create_huge_pmd',
  'do_fault',
  'do_mmap',
  'do_munmap_locked',
  'dup_mmap',
  'flush_tlb_mm',
  'free_pgtables',
  'get_user_pages',
  'get_user_pages_fast',
  // gup_pud_range()/gup_pmd_range()/gup_pte_range() before the GUP-fast functions were renamed
  // (2024, "mm/gup: consistently name GUP-fast functions"); the traces use today's names in every era.
  'gup_fast_pud_range',
  'gup_fast_pmd_range',
  'gup_fast_pte_range',
  'handle_mm_fault',
  'handle_pte_fault',
  'mmap_region',
  'munmap',
  'pmd_alloc',
  'pte_alloc',
  'remap_pfn_range',
  'remove_vma_locked',
  'unlink_file_vma',
  'unmap_mapping_range',
  'unmap_region',
  'unmap_single_vma',
  'vma_link_file',
  'vmf_insert_pfn',
  'vmf_insert_pfn_pmd',
  'zap_page_range_single',
  'zap_pmd_entry',
  'zap_vma_ptes',
  // fs/
  'close_fd',
  'close_file',
  'fdget',
  'fput',
  'get_unused_fd_flags',
  'put_unused_fd',
  'get_file',
  'task_work_run',
  // the return to user space that runs task work: kernel/entry/common.c exit_to_user_mode_loop()
  // since the generic entry code (v5.9); before, x86's exit_to_usermode_loop(). The traces use
  // today's name in every era, as for the GUP-fast functions above.
  'exit_to_user_mode_loop',
  // drivers/dma-buf/dma-buf.c (every era with dma-bufs at all; VFIO calls it from v6.19)
  'dma_buf_put',
  // fs/userfaultfd.c (v4.3 on), mm/memory.c's anonymous fault, include/linux/uaccess.h
  'userfaultfd_copy',
  'handle_userfault',
  'do_anonymous_page',
  'copy_to_user',
  'copy_from_user',
  // fs/: a file's dentry and its free (__fput(): dput(), file_free(); every era), and the O_PATH
  // open of /proc/self/fd/N (fs/proc/fd.c: proc_fd_link() -> fget_task(); every era)
  '__fput',
  '__dentry_kill',
  'dget',
  'dput',
  'file_free',
  'fget_task',
  'file_ref_get',
  // fs/file.c: the lookups of a shared fd table and of dup()/SCM_RIGHTS (fget_raw() ->
  // __fget_files()), fdput() as the syscall returns, fork's dup_fd() (every era)
  '__fget_files',
  'fget_raw',
  'fdput',
  'dup_fd',
  // drivers/pci, the IOMMU, vfio_iommu_type1
  'pci_enable_device',
  'pci_set_power_state',
  'pci_try_reset_function',
  // the function reset method and its caller (both long before v5.7; the IOMMU hooks in them are v7.0)
  '__pci_reset_function_locked',
  'pcie_flr',
  'pci_dev_restore',
  'pci_write_command',
  'iommu_dma',
  'iommu_map',
  'iommu_unmap',
  'type1_map_dma',
  'type1_unmap_dma',
  'vfio_remove_dma',
  'vaddr_get_pfn',
];
/**
 * Model plumbing, not kernel functions: shared-state accessors, the uapi layer (sys_*), and the
 * names of ops members (vm_ops->open/close, f_op->release), which the kernel of each era has.
 */
const MODEL = [
  // shared-state accessors and the layer between an operation and the kernel (the race diagram's list)
  ...PLUMBING_FRAMES,
  'open',
  'close',
  'release',
  // model-only parts of vfio_pci_mmap()/vfio_pci_core_mmap(): its checks, and the barmap claim
  'vfio_pci_mmap_checks',
  'setup_barmap',
];
const isModel = (fn: string): boolean => MODEL.includes(fn) || fn.startsWith('sys_');

/** vfio-pci and the vfio core as in v5.7 (drivers/vfio/pci/vfio_pci.c, vfio_pci_config.c, vfio.c). */
const V5_7 = [
  'vfio_pci_mmap',
  'vfio_pci_rw',
  'vfio_pci_config_rw',
  'vfio_basic_config_write',
  'vfio_pm_config_write',
  'vfio_exp_config_write',
  'vfio_pci_bar_rw',
  'vfio_pci_ioctl',
  'vfio_pci_open',
  'vfio_pci_enable',
  'vfio_pci_release',
  'vfio_pci_disable',
  'vfio_device_fops_release',
  'vfio_device_put',
  'vfio_del_group_dev',
];
/** v5.8 to v5.13 add memory_lock, the vma_list and its zap (abafbc551fdd, 11c4cd07ba11, 41311242221e). */
const V5_8 = [
  ...V5_7,
  'vfio_pci_mmap_fault',
  'vfio_pci_mmap_open',
  'vfio_pci_mmap_close',
  'vfio_pci_memory_enabled',
  'vfio_pci_zap_and_down_write_memory_lock',
  'vfio_pci_zap_and_vma_lock',
];
/** The v6 core (v6.9 on): vfio_pci_core.c, dev_set, runtime PM and low power, iommufd's compat. */
const V6_CORE = [
  'vfio_pci_core_mmap',
  'vfio_pci_rw',
  'vfio_pci_config_rw',
  'vfio_pci_core_ioctl',
  'vfio_pci_core_ioctl_feature',
  'vfio_basic_config_write',
  'vfio_pm_config_write',
  'vfio_exp_config_write',
  'vfio_pci_bar_rw',
  'vfio_pci_memory_enabled',
  'vfio_pci_zap_and_down_write_memory_lock',
  'vfio_pci_set_power_state',
  'vfio_pci_ioctl_reset',
  'vfio_pci_dev_set_hot_reset',
  'vfio_pci_core_enable',
  'vfio_pci_core_disable',
  'vfio_pci_core_close_device',
  'vfio_pci_runtime_pm_entry',
  'vfio_pci_runtime_pm_exit',
  'vfio_pci_runtime_pm_exit_locked',
  // model-only: the common tail of vfio_pci_runtime_pm_exit() and vfio_pci_core_disable()
  'vfio_pci_runtime_pm_exit_and_unrevoke',
  'vfio_device_open_file',
  'vfio_device_close',
  'vfio_device_try_get_registration',
  'vfio_device_put_registration',
  'vfio_unregister_group_dev',
  'iommufd_compat_map_dma',
  // iommufd's core (v6.2 on): unmapping an IOAS range, an in-kernel access pin
  'iommufd_ioas_unmap',
  'iommufd_access_pin_pages',
];
/** v6.19: dma-buf export (vfio_pci_dmabuf.c), the dma-buf core, iommufd's dma-buf import. */
const DMABUF = [
  'vfio_pci_core_feature_dma_buf',
  // model-only: the export's tail (registration, dma_buf_export(), listing under memory_lock)
  'vfio_pci_dma_buf_create',
  'vfio_pci_dma_buf_move',
  'vfio_pci_dma_buf_cleanup',
  'map_dma_buf',
  'unmap_dma_buf',
  'attach',
  'kref_put',
  'get_file_active',
  // model-only: the unrevoke test every revoke site ends with
  'unrevoke_if_enabled',
  'vfio_pci_vmf_insert_pfn',
  'dma_buf_dynamic_attach',
  'dma_buf_detach',
  'dma_buf_map_attachment',
  'dma_buf_unmap_attachment',
  'dma_buf_invalidate_mappings',
  'dma_buf_pin',
  'dma_buf_unpin',
  'dma_buf_fd',
  'dma_resv_wait',
  'dma_fence_signal',
  'iommufd_ioas_map_file',
  'iommufd_ioas_unmap',
  'iommufd_attach',
  'iopt_map_dmabuf',
  'iopt_revoke_notify',
  'iommufd_access_pin_pages',
  'iopt_area_add_access',
  'fill_domain',
  'release_pages',
  // model-only: the generic importer (an RDMA/GPU driver)
  'importer_attach',
  'importer_dma',
  'importer_unmap',
  'importer_unmap_locked',
];

/** v6.19: nvgrace-gpu with a23b10608d42 (the only history design it probes on). */
const NVGRACE_GPU = [
  'nvgrace_gpu_check_device_ready',
  'nvgrace_gpu_ioctl',
  'nvgrace_gpu_map_and_read',
  'nvgrace_gpu_map_and_write',
  'nvgrace_gpu_map_device_mem',
  'nvgrace_gpu_read',
  'nvgrace_gpu_read_mem',
  'nvgrace_gpu_write',
  'nvgrace_gpu_write_mem',
  'nvgrace_gpu_vfio_pci_huge_fault',
  'nvgrace_gpu_vfio_pci_reset_done',
  'nvgrace_gpu_wait_device_ready',
  'nvgrace_gpu_write_config_emu',
  'nvgrace_gpu_open_device',
  'nvgrace_gpu_close_device',
  'nvgrace_gpu_mmap',
  'vfio_pci_core_do_io_rw',
  // model-only: a readiness register read, and the hardware finishing training during the poll
  'nvgrace_read_ready_register',
  'pci_devmem_trained',
  // model-only: the reset inside vfio_pci_core_enable(), which nvgrace-gpu's open runs
  'vfio_pci_core_enable_reset',
];

const ALLOWED: Partial<Record<DesignName, { locks: string[]; fns: string[] }>> = {
  'v5.7': { locks: [...MM_LOCKS, 'reflck->lock'], fns: V5_7 },
  'v5.8': { locks: [...MM_LOCKS, 'reflck->lock', 'memory_lock', 'vma_lock'], fns: V5_8 },
  'v5.13': { locks: [...MM_LOCKS, 'reflck->lock', 'memory_lock', 'vma_lock'], fns: V5_8 },
  'v6.9': {
    locks: [...MM_LOCKS, 'dev_set->lock', 'memory_lock', 'vma_lock', 'iova_rwsem', 'ioas_lock'],
    fns: [
      ...V6_CORE,
      'vfio_pci_zap_and_vma_lock',
      'vfio_pci_mmap_fault',
      'vfio_pci_mmap_open',
      'vfio_pci_mmap_close',
    ],
  },
  'v6.10': {
    locks: [...MM_LOCKS, 'dev_set->lock', 'memory_lock', 'iova_rwsem', 'ioas_lock'],
    fns: [...V6_CORE, 'vfio_pci_zap_bars', 'vfio_pci_mmap_fault'],
  },
  'v6.12': {
    locks: [...MM_LOCKS, 'dev_set->lock', 'memory_lock', 'iova_rwsem', 'ioas_lock'],
    fns: [...V6_CORE, 'vfio_pci_zap_bars', 'vfio_pci_mmap_huge_fault'],
  },
  'v6.19': {
    locks: [
      ...MM_LOCKS,
      'dev_set->lock',
      'memory_lock',
      'iova_rwsem',
      'ioas_lock',
      'reservation_ww_class_mutex',
      'iopt_pages_dmabuf_mutex',
      // nvgrace-gpu's, nested in memory_lock from a23b10608d42 (v6.19)
      'remap_lock',
    ],
    fns: [...V6_CORE, 'vfio_pci_zap_bars', 'vfio_pci_mmap_huge_fault', ...DMABUF, ...NVGRACE_GPU],
  },
};

const seen = new Map<DesignName, { locks: Map<string, string>; fns: Map<string, string> }>();

/** Lock classes and kernel functions (outside the model's plumbing) of every example on a design. */
function traced(design: DesignName): { locks: Map<string, string>; fns: Map<string, string> } {
  const known = seen.get(design);
  if (known) return known;
  const locks = new Map<string, string>();
  const fns = new Map<string, string>();
  for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith('.yaml'))) {
    const sc = parseScenario(readFileSync(join(EXAMPLES, f), 'utf8'), f);
    const r = runScenario(sc, { design: designOf(design) });
    for (const s of r.steps) {
      const where = `${f}: ${s.stack.join(' > ')}`;
      for (const fn of s.stack) {
        // (the stack ends at the explorer: this test's own frame, which called the run, is not on it)
        if (fn.startsWith('op:') || isModel(fn) || fns.has(fn)) continue;
        fns.set(fn, where);
      }
      if (LOCK_OPS.test(s.op)) {
        const c = lockClass(s.object);
        if (!locks.has(c)) locks.set(c, where);
      }
    }
  }
  seen.set(design, { locks, fns });
  return { locks, fns };
}

describe('history designs run only what their kernel had (every example, default schedule)', () => {
  for (const [design, allowed] of Object.entries(ALLOWED) as [
    DesignName,
    { locks: string[]; fns: string[] },
  ][]) {
    test(design, () => {
      const { locks, fns } = traced(design);
      const okFns = new Set([...KERNEL_ALL, ...allowed.fns]);
      const badLocks = [...locks].filter(([c]) => !allowed.locks.includes(c)).map(([c, w]) => `${c} (${w})`);
      const badFns = [...fns].filter(([fn]) => !okFns.has(fn)).map(([fn, w]) => `${fn} (${w})`);
      assert.deepEqual(badLocks, [], `${design}: lock classes its kernel did not have`);
      assert.deepEqual(badFns, [], `${design}: functions its kernel did not have`);
    });
  }

  test('the era-defining absences hold: no memory_lock on v5.7, no dev_set before v5.15, no dma-bufs before v6.19, no IOMMU reset hooks before v7.0', () => {
    const v57 = traced('v5.7');
    assert.ok(!v57.locks.has('memory_lock'));
    assert.ok(!v57.fns.has('vfio_pci_zap_and_down_write_memory_lock'));
    assert.ok(v57.locks.has('reflck->lock'), 'the v5.7 close path takes reflck->lock');
    const v58 = traced('v5.8');
    assert.ok(v58.locks.has('memory_lock') && v58.locks.has('vma_lock'));
    assert.ok(!v58.locks.has('dev_set->lock'));
    const v612 = traced('v6.12');
    assert.ok(![...v612.fns.keys()].some((f) => f.includes('dma_buf')));
    const v619 = traced('v6.19');
    assert.ok(!v619.locks.has('group->mutex'), 'v6.19 resets an ATS device without the IOMMU group mutex');
    assert.ok(!v619.fns.has('pci_dev_reset_iommu_prepare'));
  });
});
