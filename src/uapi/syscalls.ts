// The scenario operations (docs/scenarios.md) as syscall-like generators: each runs the
// kernel path user space would enter, and returns what the kernel returns — a value, a negative
// errno, or a signal for loads and stores. They are the layer scenarios drive.

import { dmaBufGet, isDmaBufFile } from '../kernel/dma-buf/dma-buf.js';
import { type Importer, importerAttach, importerDma, importerUnmap } from '../kernel/dma-buf/importer.js';
import { dupMmap } from '../kernel/fork.js';
import {
  closeFile,
  dget,
  dput,
  emptyFops,
  File,
  fput,
  getFile,
  Inode,
  taskWorkRun,
} from '../kernel/fs/file.js';
import { UserfaultfdCtx, userfaultfdCopy, userfaultfdRegister } from '../kernel/fs/userfaultfd.js';
import {
  Ioas,
  iommuDma,
  iommufdAccessPinPages,
  iommufdAttach,
  iommufdFops,
  iommufdIoasMapFile,
  iommufdIoasUnmap,
} from '../kernel/iommufd/iommufd.js';
import { mmapAnon } from '../kernel/mm/anon.js';
import { PAGE_SIZE } from '../kernel/mm/arch.js';
import { getUserPages, getUserPagesFast, putPages } from '../kernel/mm/gup.js';
import { madviseHugepage } from '../kernel/mm/khugepaged.js';
import { type AccessOutcome, cpuAccess } from '../kernel/mm/memory.js';
import type { Vma } from '../kernel/mm/mm_types.js';
import { doMmap } from '../kernel/mm/mmap.js';
import { munmap } from '../kernel/mm/vma.js';
import { PCI_COMMAND_MEMORY, type PowerState, pciResetBus } from '../kernel/pci/pci.js';
import { regionOffset, type VfioPciCoreDevice, vfioPciCore } from '../kernel/vfio/pci/core.js';
import type { DmaRange } from '../kernel/vfio/pci/dmabuf.js';
import {
  iommufdCompatMapDma,
  iommufdCompatMapDmaDmabuf,
  Type1Container,
  type1MapDma,
  type1UnmapDma,
  vfioContainerFops,
} from '../kernel/vfio/vfio_iommu_type1.js';
import { type VfioDevice, vfioDeviceOpenFile, vfioUnregister } from '../kernel/vfio/vfio_main.js';
import type { Thread } from '../sched/program.js';
import type { Iommufd, Process } from './system.js';

const ENOENT = -2;
const EBADF = -9;
const ENODEV = -19;
const EINVAL = -22;
const ENOTTY = -25;

/** The vfio-pci device behind a file, if it is a VFIO device file. */
function deviceOfFile(f: File | undefined): VfioPciCoreDevice | null {
  const dev = f?.privateData as VfioDevice | undefined;
  return f?.fop.name === 'vfio_device_fops' && dev ? vfioPciCore(dev) : null;
}

/**
 * The device of an ioctl on a VFIO device fd (one fdget). Every kind of fd is an fd: no file is
 * -EBADF; any other file (a dma-buf, an iommufd, a container) gets the ioctl in its own handler,
 * which does not know the VFIO device command: -ENOTTY (dma_buf_ioctl()'s default,
 * iommufd_vfio_ioctl()'s -ENOIOCTLCMD, the type1 ioctl's default).
 */
function* deviceIoctl(p: Process, fd: number): Thread<VfioPciCoreDevice | number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  return deviceOfFile(f) ?? ENOTTY;
}

/**
 * The device of a pwrite to a device fd's config region (one fdget): no file is -EBADF; any other
 * file has no write method (dma-buf, iommufd, container): vfs_write() says -EINVAL.
 */
function* deviceConfigWrite(p: Process, fd: number): Thread<VfioPciCoreDevice | number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  return deviceOfFile(f) ?? EINVAL;
}

// open("/dev/vfio/devices/vfioN") (drivers/vfio/device_cdev.c) — a new device fd.
// do_sys_openat2() allocates the fd first (get_unused_fd_flags()), opens, then installs the file.
export function* sysOpen(p: Process, device: string): Thread<number> {
  const vdev = p.system.devices.get(device);
  if (!vdev) return ENODEV;
  const fd = yield* p.getUnusedFdFlags();
  if (fd < 0) return fd;
  const f = yield* vfioDeviceOpenFile(vdev.vdev);
  if (typeof f === 'number') {
    yield* p.putUnusedFd(fd);
    return f;
  }
  p.fdInstall(fd, f);
  return fd;
}

// close(2)
export function* sysClose(p: Process, fd: number): Thread<number> {
  const f = yield* p.closeFd(fd);
  if (!f) return EBADF;
  yield* closeFile(f);
  return 0;
}

/**
 * open("/proc/self/fd/N", O_PATH): fs/open.c: do_sys_openat2() allocates the new fd first; then
 * fs/namei.c: path_openat() -> do_o_path(): path_lookupat() follows the magic link
 * (fs/proc/fd.c: proc_fd_link(): fget_task() of fd N, path_get(&file->f_path), fput() of the file),
 * vfs_open() -> fs/open.c: do_dentry_open() with O_PATH (path_get(&f->f_path), FMODE_PATH,
 * empty_fops, no ->open), then path_put() of the looked-up path; fd_install(). The new file holds
 * a reference on the original file's dentry and none on the original file. ENOENT when fd N is not
 * open (there is no /proc/self/fd/N). `name` names the new file.
 */
export function* sysOpenPath(p: Process, fd: number, name: string): Thread<number> {
  const nfd = yield* p.getUnusedFdFlags();
  if (nfd < 0) return nfd;
  // proc_fd_link()
  const f = yield* p.fgetTask(fd);
  if (!f) {
    yield* p.putUnusedFd(nfd);
    return ENOENT;
  }
  const dentry = yield* dget(f.dentry);
  yield* fput(f);
  // do_dentry_open(): the O_PATH file takes its own reference on the path.
  const opath = new File(name, dentry.inode, emptyFops, undefined, {
    dentry: yield* dget(dentry),
    fmodePath: true,
  });
  // do_o_path(): path_put() of the path the lookup returned.
  yield* dput(dentry);
  p.fdInstall(nfd, opath);
  return nfd;
}

// dup(2): fs/file.c SYSCALL_DEFINE1(dup) — fget_raw(): a reference on the file (an O_PATH file
// too), which the new fd takes over, or goes back when there is no fd.
export function* sysDup(p: Process, fd: number): Thread<number> {
  const f = yield* p.fgetRaw(fd);
  if (!f) return EBADF;
  return yield* installOrPut(p, f);
}

/** A new fd for a file the caller holds a reference on; on -EMFILE the reference is put back. */
function* installOrPut(p: Process, f: File): Thread<number> {
  const nfd = yield* p.install(f);
  if (nfd < 0) yield* fput(f);
  return nfd;
}

// sendmsg(SCM_RIGHTS) + recvmsg: the file reaches the other process as a new fd there.
// net/core/scm.c: scm_fp_copy() takes it with fget_raw() (O_PATH files can be passed); the
// receiver's receive_fd() installs it with get_file() and the skb's scm_fp_list puts the sender's
// reference when it is freed — the model hands the sender's reference to the new fd, the same
// count at every point a thread can observe it.
export function* sysSend(p: Process, fd: number, to: Process): Thread<number> {
  const f = yield* p.fgetRaw(fd);
  if (!f) return EBADF;
  return yield* installOrPut(to, f);
}

/** mmap(2) of a device fd (region index + offset in the region) or a dma-buf fd (offset). */
export function* sysMmap(
  p: Process,
  fd: number,
  o: { region?: number; offset: number; length: number; at?: number },
): Thread<Vma | number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  const offset = isDmaBufFile(f) ? o.offset : regionOffset(o.region ?? 0, o.offset);
  return yield* doMmap(p.mm, { file: f, len: o.length, offset, ...(o.at !== undefined ? { at: o.at } : {}) });
}

/**
 * Private anonymous memory; with `uffd`, userfaultfd() first (a new fd), then the mmap, then
 * UFFDIO_REGISTER (MODE_MISSING) over it, which takes mmap_lock for write. The mapping and its
 * userfaultfd, or -errno (nothing is left behind: the fd goes back and the mapping is unmapped).
 */
export function* sysMmapAnon(
  p: Process,
  name: string,
  o: { length: number; at?: number; uffd?: boolean },
): Thread<{ vma: Vma; uffd: UserfaultfdCtx | undefined } | number> {
  let uffd: UserfaultfdCtx | undefined;
  let fd = -1;
  if (o.uffd) {
    // fs/userfaultfd.c: SYSCALL_DEFINE1(userfaultfd) -> new_userfaultfd(): fd first, then the file.
    fd = yield* p.getUnusedFdFlags();
    if (fd < 0) return fd;
    uffd = new UserfaultfdCtx(`${name}.uffd`, p.mm);
    p.fdInstall(fd, uffd.file);
  }
  const vma = yield* mmapAnon(p.mm, o.length, o.at);
  if (typeof vma === 'number') {
    if (uffd) yield* sysClose(p, fd);
    return vma;
  }
  if (uffd) {
    yield* p.mm.mmapLock.downWrite();
    const err = userfaultfdRegister(uffd, p.mm, vma.start, vma.end);
    yield* p.mm.mmapLock.upWrite();
    if (err !== 0) {
      yield* munmap(p.mm, vma.start, vma.end - vma.start);
      yield* sysClose(p, fd);
      return err;
    }
  }
  return { vma, uffd };
}

/** UFFDIO_COPY through the userfaultfd registered on a mapping: bytes copied, or -errno. */
export function* sysUffdCopy(
  p: Process,
  uffd: UserfaultfdCtx | undefined,
  addr: number,
  length: number,
): Thread<number> {
  if (!uffd) return -2; // ENOENT: no registration of this userfaultfd covers the range
  return yield* userfaultfdCopy(uffd, addr, length, () => p.system.machine.allocPage());
}

export function* sysMunmap(p: Process, addr: number, length: number): Thread<number> {
  return yield* munmap(p.mm, addr, length);
}

export function* sysMadvise(
  p: Process,
  addr: number,
  length: number,
  advice: 'hugepage' | 'nohugepage',
): Thread<number> {
  return yield* madviseHugepage(p.mm, addr, length, advice);
}

// fork(2): kernel/fork.c copy_process() — copy_files() (dup_fd()) before copy_mm() (dup_mmap()).
export function* sysFork(p: Process, child: string): Thread<Process> {
  const fds = yield* p.dupFd();
  const mm = yield* dupMmap(p.mm, p.system.mmName(child));
  const c = p.system.spawnWith(child, mm);
  for (const [fd, f] of fds) c.fds.set(fd, f);
  c.copyFrom(p);
  return c;
}

/** A load or store by a thread of the process. */
export function* sysAccess(p: Process, addr: number, write: boolean, thread: string): Thread<AccessOutcome> {
  return yield* cpuAccess(p.mm, addr, write, thread);
}

/**
 * pread/pwrite on a device fd's BAR region: bytes done or -errno, from the device driver's read or
 * write (vfio_device_fops_read/write() -> ops->read/write). With `buffer`, the user buffer is that
 * address, so the copy can fault — and can itself be an access to a BAR mapping.
 */
export function* sysRw(
  p: Process,
  fd: number,
  o: { region: number; offset: number; length: number; write: boolean; buffer?: number },
  thread: string,
): Thread<number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF; // no file, or an O_PATH one (fdget() does not find it)
  const vdev = deviceOfFile(f);
  if (!vdev) return EINVAL;
  const rw = {
    region: o.region,
    offset: o.offset,
    length: o.length,
    ...(o.buffer !== undefined ? { buffer: o.buffer } : {}),
  };
  return o.write
    ? yield* vdev.ops.write(vdev, rw, p.mm, thread)
    : yield* vdev.ops.read(vdev, rw, p.mm, thread);
}

/** get_user_pages(_fast), long-term or not: the pages taken (kept), or -errno. */
export function* sysGup(
  p: Process,
  addr: number,
  pages: number,
  o: { fast: boolean; longterm?: boolean },
): Thread<number> {
  const flags = { pin: o.longterm ?? false, longterm: o.longterm ?? false, p2pdma: true };
  const r = o.fast
    ? yield* getUserPagesFast(p.mm, addr, pages, flags)
    : yield* getUserPages(p.mm, addr, pages, flags);
  return r.err !== 0 && r.pfns.length === 0 ? r.err : r.pfns.length;
}

/**
 * O_DIRECT I/O from a user buffer (fs/direct-io via iov_iter_extract_pages()): pin the pages with
 * pin_user_pages_fast(FOLL_PCI_P2PDMA, the block device being P2P-capable), let the disk DMA to
 * them, unpin. Bytes done or -errno.
 */
export function* sysDirectIo(p: Process, addr: number, length: number, thread: string): Thread<number> {
  const flags = { pin: true, p2pdma: true };
  const r = yield* getUserPagesFast(p.mm, addr, Math.ceil(length / PAGE_SIZE), flags);
  if (r.err !== 0 && r.pfns.length === 0) return r.err;
  for (const pfn of r.pfns)
    yield* p.system.machine.access({ by: 'dma', thread, write: true, pfn, via: 'O_DIRECT' });
  yield* putPages(p.mm, r.pfns, flags);
  return r.pfns.length * PAGE_SIZE;
}

/** A write to PCI_COMMAND through the config region (vfio_pci_config_rw). */
export function* sysCommand(p: Process, fd: number, memory: boolean): Thread<number> {
  const vdev = yield* deviceConfigWrite(p, fd);
  if (typeof vdev === 'number') return vdev;
  return yield* vdev.ops.configWrite(vdev, { reg: 'command', value: memory ? PCI_COMMAND_MEMORY : 0 });
}

/** A write to the PM capability's power state. */
export function* sysPower(p: Process, fd: number, state: PowerState): Thread<number> {
  const vdev = yield* deviceConfigWrite(p, fd);
  if (typeof vdev === 'number') return vdev;
  return yield* vdev.ops.configWrite(vdev, { reg: 'power', state });
}

/** FLR through PCIe DEVCTL. */
export function* sysFlr(p: Process, fd: number): Thread<number> {
  const vdev = yield* deviceConfigWrite(p, fd);
  if (typeof vdev === 'number') return vdev;
  return yield* vdev.ops.configWrite(vdev, { reg: 'flr' });
}

/** VFIO_DEVICE_RESET. */
export function* sysReset(p: Process, fd: number): Thread<number> {
  const vdev = yield* deviceIoctl(p, fd);
  if (typeof vdev === 'number') return vdev;
  return yield* vdev.ops.ioctl(vdev, { cmd: 'VFIO_DEVICE_RESET' });
}

/** VFIO_DEVICE_PCI_HOT_RESET over the devices of the given fds (one bus). */
export function* sysHotReset(p: Process, fds: number[]): Thread<number> {
  const vdevs: VfioPciCoreDevice[] = [];
  for (const [i, fd] of fds.entries()) {
    // The ioctl goes to the first fd (-ENOTTY from any other kind of file); the others name the
    // devices of the reset, and a file that is not one is refused (-EINVAL).
    const v = i === 0 ? yield* deviceIoctl(p, fd) : yield* deviceConfigWrite(p, fd);
    if (typeof v === 'number') return v;
    if (!vdevs.includes(v)) vdevs.push(v);
  }
  // The ioctl is the first fd's device's.
  return yield* vdevs[0]!.ops.ioctl(vdevs[0]!, {
    cmd: 'VFIO_DEVICE_PCI_HOT_RESET',
    vdevs,
    resetBus: pciResetBus,
  });
}

/** VFIO_DEVICE_FEATURE_LOW_POWER_ENTRY / _EXIT. */
export function* sysPm(p: Process, fd: number, entry: boolean): Thread<number> {
  const vdev = yield* deviceIoctl(p, fd);
  if (typeof vdev === 'number') return vdev;
  return yield* vdev.ops.deviceFeature(vdev, { feature: entry ? 'LOW_POWER_ENTRY' : 'LOW_POWER_EXIT' });
}

/** VFIO_DEVICE_FEATURE_DMA_BUF: a new dma-buf fd, or -errno. */
export function* sysExport(p: Process, fd: number, region: number, ranges: DmaRange[]): Thread<number> {
  const vdev = yield* deviceIoctl(p, fd);
  if (typeof vdev === 'number') return vdev;
  // dma_buf_fd() is the ioctl's last step: the fd is allocated in the current task's table.
  return yield* vdev.ops.deviceFeature(vdev, {
    feature: 'DMA_BUF',
    req: { regionIndex: region, ranges },
    files: p,
  });
}

/**
 * VFIO_DEVICE_FEATURE_DMA_BUF_REVOKE: exists only in the proposal's designs; on upstream and the
 * history the feature is unknown: -ENOTTY.
 */
export function* sysRevoke(p: Process, fd: number, dmabuf: number): Thread<number> {
  const vdev = yield* deviceIoctl(p, fd);
  if (typeof vdev === 'number') return vdev;
  if (!vdev.machine.design.options.permanentRevoke) return ENOTTY;
  const f = yield* p.fdget(dmabuf);
  if (!f) return EBADF;
  return yield* vdev.ops.deviceFeature(vdev, { feature: 'DMA_BUF_REVOKE', dmabuf: f });
}

/** VFIO_DEVICE_FEATURE_DMA_BUF_MEMATTR (the proposal): UC or WC for future mmaps of a dma-buf. */
export function* sysMemattr(p: Process, fd: number, dmabuf: number, attr: 'uc' | 'wc'): Thread<number> {
  const vdev = yield* deviceIoctl(p, fd);
  if (typeof vdev === 'number') return vdev;
  const f = yield* p.fdget(dmabuf);
  if (!f) return EBADF;
  return yield* vdev.ops.deviceFeature(vdev, { feature: 'DMA_BUF_MEMATTR', dmabuf: f, attr });
}

/**
 * The driver is unbound (echo ... > unbind): drivers/base/bus.c unbind_store() checks that the
 * driver is bound (-ENODEV otherwise), then device_driver_detach() ->
 * device_release_driver_internal() takes device_lock() and, if a driver is still bound, runs its
 * remove — vfio_unregister_group_dev(), which waits until every user has let go of the device,
 * then the driver frees it — and clears dev->driver. A second unbind finds no driver.
 */
export function* sysUnbind(p: Process, device: string): Thread<number> {
  const vdev = p.system.devices.get(device);
  if (!vdev) return ENODEV;
  const dev = vdev.vdev;
  if (!(yield* dev.driverBound.read())) return ENODEV;
  yield* dev.deviceLock.lock();
  if (yield* dev.driverBound.read()) {
    yield* vfioUnregister(dev);
    yield* dev.driverBound.write(false);
  }
  yield* dev.deviceLock.unlock();
  return 0;
}

/** open("/dev/iommu"): the context object (see sysIommufdOpen for the fd). */
export function sysIommufd(name: string): Iommufd {
  return { name, ioas: [] };
}

/** open("/dev/iommu") as user space does it: a new iommufd fd (an fd like any other). */
export function* sysIommufdOpen(p: Process, name: string): Thread<number> {
  // /dev/iommu exists from v6.2: the v5 era's designs have no such device node.
  if (p.system.machine.design.options.coreEra === 'v5') return ENOENT;
  const ictx = sysIommufd(name);
  // do_sys_openat2(): the fd first; iommufd_fops_open() cannot fail here.
  return yield* p.install(new File(name, new Inode(name), iommufdFops, ictx));
}

/**
 * IOMMU_IOAS_ALLOC on an fd: no file -EBADF; a file that is not an iommufd gets the ioctl in its
 * own handler, which does not know it: -ENOTTY.
 */
export function* sysIoasAllocFd(p: Process, fd: number, name: string): Thread<Ioas | number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  if (f.fop !== iommufdFops) return ENOTTY;
  return sysIoasAlloc(f.privateData as Iommufd, name);
}

/** IOMMU_IOAS_ALLOC. */
export function sysIoasAlloc(ictx: Iommufd, name: string): Ioas {
  const ioas = new Ioas(`${ictx.name}.${name}`);
  ictx.ioas.push(ioas);
  return ioas;
}

/** VFIO_DEVICE_ATTACH_IOMMUFD_PT: the device's DMA now goes through the IOAS's translations. */
export function* sysAttach(p: Process, fd: number, ioas: Ioas): Thread<number> {
  const vdev = yield* deviceIoctl(p, fd);
  if (typeof vdev === 'number') return vdev;
  return yield* iommufdAttach(ioas, p.system.domainOf(vdev.pdev.name));
}

/** IOMMU_IOAS_MAP_FILE. */
export function* sysMapFile(
  p: Process,
  ioas: Ioas,
  fd: number,
  iova: number,
  length: number,
  offset = 0,
): Thread<number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  return yield* iommufdIoasMapFile(ioas, f, iova, length, offset, p.mm);
}

/** An in-kernel iommufd access (emulated/mdev device) pins IOVA pages: iommufd_access_pin_pages(). */
export function* sysAccessPin(ioas: Ioas, iova: number, length: number): Thread<number> {
  return yield* iommufdAccessPinPages(ioas, iova, length);
}

/** IOMMU_IOAS_UNMAP. */
export function* sysUnmapIova(ioas: Ioas, iova: number, length: number): Thread<number> {
  return yield* iommufdIoasUnmap(ioas, iova, length);
}

/**
 * A type1 container (VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU)) with the devices' domains. Each fd must be
 * a VFIO device's (its group's VFIO_GROUP_SET_CONTAINER): no file -EBADF, another kind of file
 * does not know that ioctl (-ENOTTY).
 */
export function* sysContainer(p: Process, name: string, fds: number[]): Thread<Type1Container | number> {
  const c = new Type1Container(name);
  for (const fd of fds) {
    const v = yield* deviceIoctl(p, fd);
    if (typeof v === 'number') return v;
    c.domains.push(p.system.domainOf(v.pdev.name));
  }
  p.system.containers.set(name, c);
  return c;
}

/** The container as user space holds it: an fd for /dev/vfio/vfio (an fd like any other). */
export function* sysContainerOpen(p: Process, name: string, fds: number[]): Thread<number> {
  // open("/dev/vfio/vfio") allocates the fd before the container exists; the group and IOMMU
  // ioctls that fill it come after.
  const fd = yield* p.getUnusedFdFlags();
  if (fd < 0) return fd;
  const c = yield* sysContainer(p, name, fds);
  if (typeof c === 'number') {
    yield* p.putUnusedFd(fd);
    return c;
  }
  p.fdInstall(fd, new File(name, new Inode(name), vfioContainerFops, c));
  return fd;
}

// setrlimit(RLIMIT_NOFILE): the soft limit only (the hard limit is not modelled: any value is taken).
export function* sysSetrlimitNofile(p: Process, n: number): Thread<number> {
  yield* p.setNofile(n);
  return 0;
}

/**
 * VFIO_IOMMU_MAP_DMA on an fd: a container maps through type1; an iommufd takes the ioctl in its
 * VFIO compat layer, which has no compat IOAS here (none is made by IOMMU_VFIO_IOAS or
 * VFIO_SET_IOMMU in the model): -ENODEV; a device or dma-buf fd does not know it: -ENOTTY.
 */
export function* sysMapDmaFd(
  p: Process,
  fd: number,
  vaddr: number,
  iova: number,
  length: number,
): Thread<number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  if (f.fop === vfioContainerFops)
    return yield* sysMapDma(p, f.privateData as Type1Container, vaddr, iova, length);
  if (f.fop === iommufdFops) return ENODEV;
  return ENOTTY;
}

/**
 * VFIO_IOMMU_UNMAP_DMA on an fd: a container unmaps through type1 (the bytes unmapped); an iommufd
 * has no compat IOAS here (-ENODEV, as for the map); a device or dma-buf fd does not know it.
 */
export function* sysUnmapDmaFd(p: Process, fd: number, iova: number, length: number): Thread<number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  if (f.fop === vfioContainerFops)
    return yield* type1UnmapDma(f.privateData as Type1Container, p.mm, iova, length);
  if (f.fop === iommufdFops) return ENODEV;
  return ENOTTY;
}

/** VFIO_IOMMU_MAP_DMA of a user address: type1, or iommufd's compat (into an IOAS's domains). */
export function* sysMapDma(
  p: Process,
  target: Type1Container | Ioas,
  vaddr: number,
  iova: number,
  length: number,
): Thread<number> {
  if (target instanceof Type1Container) return yield* type1MapDma(target, p.mm, vaddr, iova, length);
  if (p.system.machine.design.options.compatImportsDmabuf) {
    return yield* iommufdCompatMapDmaDmabuf(target, p.mm, vaddr, iova, length);
  }
  return yield* iommufdCompatMapDma(target.domains, p.mm, vaddr, iova, length);
}

/** A generic importer (RDMA/GPU) attaching to and mapping a dma-buf fd. */
export function* sysImport(
  p: Process,
  fd: number,
  name: string,
  o: { revocable: boolean; pinned?: boolean; ignoresMove?: boolean },
): Thread<Importer | number> {
  const f = yield* p.fdget(fd);
  if (!f) return EBADF;
  const buf = dmaBufGet(f);
  if (typeof buf === 'number') return buf;
  yield* getFile(f); // the importer holds the buffer (dma_buf_get)
  const imp = yield* importerAttach(name, buf, {
    revocable: o.revocable,
    pinned: o.pinned ?? false,
    ignoresMove: o.ignoresMove ?? false,
  });
  if (typeof imp === 'number') {
    yield* closeFile(f);
    return imp;
  }
  p.system.importers.set(name, imp);
  return imp;
}

export function* sysImporterDma(p: Process, imp: Importer): Thread<number> {
  return yield* importerDma(p.system.machine, imp);
}

export function* sysImporterUnmap(imp: Importer): Thread<number> {
  return yield* importerUnmap(imp);
}

/** A device's DMA to an IOVA through its IOMMU domain: 0, or -EFAULT for an IOMMU fault. */
export function* sysDma(p: Process, device: string, iova: number): Thread<number> {
  const d = p.system.domains.get(device);
  if (!d) return ENODEV;
  return yield* iommuDma(p.system.machine, d, iova, device);
}

// kernel/entry/common.c: exit_to_user_mode_loop() — the return to user space after every system
// call runs the work queued for it (resume_user_mode_work(): task_work_run(), deferred fputs).
export function* exitToUserModeLoop(): Thread<void> {
  yield* taskWorkRun();
}

export type { File };
