// The scenario operations (docs/scenarios.md, "Operations"): for each, the schema of its
// arguments, which of them name handles (and of what kind), and the handle it creates. The
// interpreter (program.ts) maps each to its syscall in src/uapi/syscalls.ts; docs/scenarios.md is
// generated from this table.

import { z } from 'zod';
import { ERRNO } from '../uapi/errno.js';
import { size } from './size.js';

/** What a handle names: an fd (device or dma-buf), a mapping, an iommufd context, ... */
export type HandleKind = 'fd' | 'map' | 'iommufd' | 'ioas' | 'importer' | 'container' | 'process';

/**
 * The kinds that are file descriptors. Every kind of fd is an fd: where an operation expects one of
 * them, any other of them is accepted when the scenario is loaded, and the operation returns the
 * kernel's errno at run time (e.g. ENOTTY for a device ioctl on a dma-buf fd).
 */
export const FD_KINDS: readonly HandleKind[] = ['fd', 'iommufd', 'container'];

/** Each handle kind with its article, for messages and the reference. */
export const HANDLE_NAMES: Record<HandleKind, string> = {
  fd: 'an fd',
  map: 'a mapping',
  iommufd: 'an iommufd',
  ioas: 'an IOAS',
  importer: 'an importer',
  container: 'a container',
  process: 'a process',
};

/** What an operation's outcome may be expected to be. */
export const OUTCOMES = ['ok', 'sigbus', 'sigsegv', 'any', ...Object.keys(ERRNO)] as const;

const name = z.string().min(1, { error: 'a name cannot be empty' });
const handle = name;
const expect = z.enum(OUTCOMES).optional();
const region = z.number().int().min(0).max(8);

export interface OpSpec {
  /** One sentence for the reference. */
  doc: string;
  /** The kernel entry it models. */
  kernel: string;
  args: z.ZodObject;
  /** Argument -> the kind of handle it names (`fds` names a list of them). */
  uses: Record<string, HandleKind>;
  /** The kind of handle `as` creates, if the operation creates one. */
  creates?: HandleKind;
}

function op(
  doc: string,
  kernel: string,
  shape: z.ZodRawShape,
  uses: Record<string, HandleKind> = {},
  creates?: HandleKind,
): OpSpec {
  const s: OpSpec = { doc, kernel, args: z.strictObject({ ...shape, expect }), uses };
  if (creates) s.creates = creates;
  return s;
}

export const OPS = {
  open: op(
    'Opens a VFIO device: a new device fd.',
    'drivers/vfio/device_cdev.c: vfio_device_fops_cdev_open()',
    { device: name, as: name },
    {},
    'fd',
  ),
  close: op(
    'Closes an fd (the last reference releases the file).',
    'fs/open.c: close_fd()',
    { fd: handle },
    {
      fd: 'fd',
    },
  ),
  open_path: op(
    'open("/proc/self/fd/N", O_PATH) of the fd `fd`: a new O_PATH fd whose file holds a reference on the original file\u2019s dentry (its path) and none on the original file. An O_PATH fd can only be closed, dup\u2019d, sent or opened O_PATH again: every other operation given it returns EBADF (fdget() does not find it). A dma-buf\u2019s dentry held this way keeps the buffer (and its exporter\u2019s state) alive after the buffer\u2019s file is released: the dma-buf core runs the exporter\u2019s release from the dentry\u2019s d_release. ENOENT when `fd` is not open.',
    'fs/namei.c: do_o_path() -> fs/proc/fd.c: proc_fd_link(), fs/open.c: do_dentry_open()',
    { fd: handle, as: name },
    { fd: 'fd' },
    'fd',
  ),
  dup: op('A second fd for the same file.', 'fs/file.c: dup()', { fd: handle, as: name }, { fd: 'fd' }, 'fd'),
  send: op(
    'Passes an fd to another process over a unix socket (SCM_RIGHTS): `as` names it there.',
    'net/unix: scm_send() + scm_detach_fds()',
    { fd: handle, to: name, as: name },
    { fd: 'fd' },
    'fd',
  ),
  setrlimit: op(
    "setrlimit(RLIMIT_NOFILE): the process's soft limit on fd numbers (default 1024; a fork's child inherits it). Every operation that makes an fd takes the lowest free number from 3 up (0-2 are stdio), as alloc_fd() does, and fails with EMFILE at or past the limit, leaving nothing behind.",
    'kernel/sys.c: do_prlimit(); fs/file.c: alloc_fd()',
    {
      nofile: z
        .number()
        .int()
        .min(0)
        .max(1 << 20),
    },
  ),
  mmap: op(
    'mmap(MAP_SHARED) of a device fd (BAR `region`, `offset` inside it) or of a dma-buf fd (`offset` into the buffer; no region); `at` asks for a fixed address (MAP_FIXED).',
    'mm/mmap.c: do_mmap()',
    {
      fd: handle,
      region: region.optional(),
      offset: size.default(0),
      length: size,
      at: size.optional(),
      as: name,
    },
    { fd: 'fd' },
    'map',
  ),
  mmap_anon: op(
    'Private anonymous memory (mmap(MAP_PRIVATE | MAP_ANONYMOUS), read and write; `at` asks for a fixed address). A read of an untouched page maps the shared zero page, a write a new page. With `uffd: true` a userfaultfd is made first (it takes an fd of the process) and registered over the mapping for missing pages (UFFDIO_REGISTER_MODE_MISSING): a fault on a page not yet there — a load, a store, or a kernel copy such as a `pread` into it — sleeps with mmap_lock dropped until a `uffd_copy` fills the page, then faults again. get_user_pages() on such a page fails instead (EFAULT: it cannot drop the lock).',
    'mm/mmap.c: do_mmap(); fs/userfaultfd.c: userfaultfd_register(), handle_userfault()',
    { length: size, at: size.optional(), uffd: z.boolean().optional(), as: name },
    {},
    'map',
  ),
  uffd_copy: op(
    'UFFDIO_COPY: fills `length` bytes (default one page) of a userfaultfd-registered anonymous mapping at `offset`, and wakes the faults waiting for those pages. EEXIST when the first page is already there, ENOENT for a mapping with no userfaultfd.',
    'fs/userfaultfd.c: userfaultfd_copy() -> mm/userfaultfd.c: mfill_atomic_copy()',
    { map: handle, offset: size.default(0), length: size.optional() },
    { map: 'map' },
  ),
  munmap: op('Unmaps a whole mapping.', 'mm/vma.c: do_vmi_munmap()', { map: handle }, { map: 'map' }),
  madvise: op(
    'MADV_HUGEPAGE / MADV_NOHUGEPAGE over a whole mapping.',
    'mm/madvise.c: madvise_vma_behavior()',
    { map: handle, advice: z.enum(['hugepage', 'nohugepage']) },
    { map: 'map' },
  ),
  fork: op(
    'fork(2): creates the process `as` (a copy of the mm and the fd table); its threads start once it exists.',
    'kernel/fork.c: copy_process() -> dup_mmap()',
    { as: name },
    {},
    'process',
  ),
  load: op(
    'A CPU load from a mapping at `offset`: ok, sigbus or sigsegv.',
    'arch/x86/mm/fault.c: do_user_addr_fault()',
    { map: handle, offset: size.default(0) },
    { map: 'map' },
  ),
  store: op(
    'A CPU store to a mapping at `offset`: ok, sigbus or sigsegv.',
    'arch/x86/mm/fault.c: do_user_addr_fault()',
    { map: handle, offset: size.default(0) },
    { map: 'map' },
  ),
  pread: op(
    'pread(2) of a BAR region through the device fd; with `map` the user buffer is that mapping at `mapOffset`, so the copy can fault.',
    'drivers/vfio/pci/vfio_pci_rdwr.c: vfio_pci_bar_rw()',
    {
      fd: handle,
      region,
      offset: size.default(0),
      length: size,
      map: handle.optional(),
      mapOffset: size.default(0),
    },
    { fd: 'fd', map: 'map' },
  ),
  pwrite: op(
    'pwrite(2) to a BAR region through the device fd; with `map` the user buffer is that mapping at `mapOffset`.',
    'drivers/vfio/pci/vfio_pci_rdwr.c: vfio_pci_bar_rw()',
    {
      fd: handle,
      region,
      offset: size.default(0),
      length: size,
      map: handle.optional(),
      mapOffset: size.default(0),
    },
    { fd: 'fd', map: 'map' },
  ),
  gup: op(
    'get_user_pages(_fast) (pin_user_pages with `longterm`) over `length` bytes (default one page) of a mapping; the references are kept.',
    'mm/gup.c: get_user_pages() / get_user_pages_fast()',
    {
      map: handle,
      offset: size.default(0),
      length: size.optional(),
      fast: z.boolean(),
      longterm: z.boolean().optional(),
    },
    { map: 'map' },
  ),
  direct_io: op(
    'O_DIRECT I/O with a mapping as the user buffer: pin the pages (FOLL_PCI_P2PDMA), DMA, unpin.',
    'block/bio.c: bio_iov_iter_get_pages() -> iov_iter_extract_pages()',
    { map: handle, offset: size.default(0), length: size },
    { map: 'map' },
  ),
  command: op(
    'Writes PCI_COMMAND through the config region: memory decode on or off.',
    'drivers/vfio/pci/vfio_pci_config.c: vfio_basic_config_write()',
    { fd: handle, memory: z.boolean() },
    { fd: 'fd' },
  ),
  power: op(
    'Writes the PM capability power state (D0 or D3hot).',
    'drivers/vfio/pci/vfio_pci_config.c: vfio_pm_config_write()',
    { fd: handle, state: z.enum(['D0', 'D3hot']) },
    { fd: 'fd' },
  ),
  flr: op(
    'Function-level reset through PCIe DEVCTL.',
    'drivers/vfio/pci/vfio_pci_config.c: vfio_exp_config_write()',
    { fd: handle },
    { fd: 'fd' },
  ),
  reset: op(
    'VFIO_DEVICE_RESET.',
    'drivers/vfio/pci/vfio_pci_core.c: vfio_pci_ioctl_reset()',
    { fd: handle },
    { fd: 'fd' },
  ),
  hot_reset: op(
    'VFIO_DEVICE_PCI_HOT_RESET over the devices of the given fds.',
    'drivers/vfio/pci/vfio_pci_core.c: vfio_pci_dev_set_hot_reset()',
    { fds: z.array(handle).min(1) },
    { fds: 'fd' },
  ),
  pm_entry: op(
    'VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY: runtime suspend once the last user lets go.',
    'drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_pm_entry()',
    { fd: handle },
    { fd: 'fd' },
  ),
  pm_exit: op(
    'VFIO_DEVICE_FEATURE_LOW_POWER_EXIT.',
    'drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_pm_exit()',
    { fd: handle },
    { fd: 'fd' },
  ),
  export: op(
    'VFIO_DEVICE_FEATURE_DMA_BUF: a dma-buf fd over `ranges` of a BAR region.',
    'drivers/vfio/pci/vfio_pci_dmabuf.c: vfio_pci_core_feature_dma_buf()',
    {
      fd: handle,
      region,
      ranges: z.array(z.strictObject({ offset: size, length: size })).min(1),
      as: name,
    },
    { fd: 'fd' },
    'fd',
  ),
  revoke: op(
    'VFIO_DEVICE_FEATURE_DMA_BUF_REVOKE: permanently revokes a dma-buf (designs that have it; ENOTTY elsewhere).',
    'drivers/vfio/pci/vfio_pci_dmabuf.c (proposed)',
    { fd: handle, dmabuf: handle },
    { fd: 'fd', dmabuf: 'fd' },
  ),
  memattr: op(
    'VFIO_DEVICE_FEATURE_DMA_BUF_MEMATTR (the proposal): UC or WC for future mmaps of a dma-buf (ENOTTY elsewhere).',
    'drivers/vfio/pci/vfio_pci_dmabuf.c (proposed, 9/9)',
    { fd: handle, dmabuf: handle, attr: z.enum(['uc', 'wc']) },
    { fd: 'fd', dmabuf: 'fd' },
  ),
  unbind: op(
    'Unbinds the driver from a device: waits until every user let go, then the device is freed.',
    'drivers/vfio/vfio_main.c: vfio_unregister_group_dev()',
    { device: name },
  ),
  iommufd: op(
    'Opens /dev/iommu.',
    'drivers/iommu/iommufd/main.c: iommufd_fops_open()',
    { as: name },
    {},
    'iommufd',
  ),
  ioas: op(
    'IOMMU_IOAS_ALLOC in an iommufd context.',
    'drivers/iommu/iommufd/ioas.c: iommufd_ioas_alloc_ioctl()',
    { iommufd: handle, as: name },
    { iommufd: 'iommufd' },
    'ioas',
  ),
  attach: op(
    "VFIO_DEVICE_ATTACH_IOMMUFD_PT: the device's DMA goes through the IOAS.",
    'drivers/vfio/device_cdev.c: vfio_df_ioctl_attach_pt()',
    { fd: handle, ioas: handle },
    { fd: 'fd', ioas: 'ioas' },
  ),
  map_file: op(
    'IOMMU_IOAS_MAP_FILE of a dma-buf fd at `iova`.',
    'drivers/iommu/iommufd/ioas.c: iommufd_ioas_map_file()',
    { ioas: handle, fd: handle, iova: size, length: size, offset: size.default(0) },
    { ioas: 'ioas', fd: 'fd' },
  ),
  unmap_iova: op(
    'IOMMU_IOAS_UNMAP.',
    'drivers/iommu/iommufd/ioas.c: iommufd_ioas_unmap()',
    { ioas: handle, iova: size, length: size },
    { ioas: 'ioas' },
  ),
  access_pin: op(
    "An in-kernel iommufd access — what an emulated or mdev device does — pins the pages behind `length` bytes at `iova` of an IOAS (the access is made and attached to the IOAS on first use). For a dma-buf area: EINVAL since 5f3fc0ad9a41 (v7.2); before it, the pages' mutex is taken and, with no domain filled, the pages are pinned as user memory through GUP under it (EFAULT), taking mmap_lock inside pages->mutex.",
    'drivers/iommu/iommufd/device.c: iommufd_access_pin_pages()',
    { ioas: handle, iova: size, length: size },
    { ioas: 'ioas' },
  ),
  container: op(
    'A VFIO type1 container (VFIO_SET_IOMMU) holding the devices of the given fds (for map_dma with backend type1).',
    'drivers/vfio/vfio_iommu_type1.c: vfio_iommu_type1_open()',
    { fds: z.array(handle).min(1), as: name },
    { fds: 'fd' },
    'container',
  ),
  map_dma: op(
    'VFIO_IOMMU_MAP_DMA of a user address inside a mapping: into a type1 `container`, or into an `ioas` through iommufd\u2019s type1 compat.',
    'drivers/vfio/vfio_iommu_type1.c: vfio_dma_do_map() / drivers/iommu/iommufd/vfio_compat.c',
    {
      ioas: handle.optional(),
      container: handle.optional(),
      map: handle,
      offset: size.default(0),
      iova: size,
      length: size,
      backend: z.enum(['type1', 'iommufd']).optional(),
    },
    { ioas: 'ioas', container: 'container', map: 'map' },
  ),
  unmap_dma: op(
    'VFIO_IOMMU_UNMAP_DMA of an IOVA range of a type1 `container` (type1v2): every mapping inside it goes (unmapped from the IOMMU domains, unpinned); EINVAL for a range that cuts a mapping.',
    'drivers/vfio/vfio_iommu_type1.c: vfio_dma_do_unmap()',
    { container: handle, iova: size, length: size },
    { container: 'container' },
  ),
  import: op(
    'A generic dma-buf importer (RDMA, GPU) attaches to and maps a dma-buf fd. A revocable importer unmaps from its invalidate_mappings callback, as the kernel\u2019s revocable importers do; `ignoresMove: true` makes a misbehaving one whose callback does not unmap (only `importer_unmap` does), so a revoke that waits for importers waits for that op.',
    'drivers/dma-buf/dma-buf.c: dma_buf_dynamic_attach() + dma_buf_map_attachment()',
    {
      fd: handle,
      as: name,
      revocable: z.boolean(),
      pinned: z.boolean().optional(),
      ignoresMove: z.boolean().optional(),
    },
    { fd: 'fd' },
    'importer',
  ),
  importer_dma: op(
    "The importer's device DMAs to the buffer through its mapping.",
    'an importer driver issuing DMA',
    { importer: handle },
    { importer: 'importer' },
  ),
  importer_unmap: op(
    'The importer unmaps its attachment.',
    'drivers/dma-buf/dma-buf.c: dma_buf_unmap_attachment()',
    { importer: handle },
    { importer: 'importer' },
  ),
  dma: op(
    'A device DMAs to `iova` through its IOMMU domain: ok when translated, EFAULT when not.',
    'drivers/iommu: the IOMMU page walk',
    { device: name, iova: size },
  ),
} satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;
export const OP_NAMES = Object.keys(OPS) as OpName[];

/** One parsed operation, with its source position for messages. */
export interface ScenarioOp {
  op: OpName;
  args: Record<string, unknown> & { expect?: (typeof OUTCOMES)[number] };
  /** Setup only: the process it runs in (default: the first process). */
  process?: string;
  /** `file:line:column` of the operation. */
  where: string;
  /** Index in its list (`threads.vmm[2]`). */
  path: string;
}
