// The machine a scenario runs on, as user space sees it: VFIO-PCI devices, processes with an
// address space and an fd table, iommufd contexts and type1 containers. Every syscall-like
// operation is a generator in `syscalls.ts` that returns what the kernel returns.

import { DESIGNS, type Design } from '../designs/design.js';
import type { Importer } from '../kernel/dma-buf/importer.js';
import { type File, fileRefGet, fput, getFile } from '../kernel/fs/file.js';
import type { Ioas } from '../kernel/iommufd/iommufd.js';
import { IommuDomain as Domain, type IommuDomain } from '../kernel/iommufd/iommufd.js';
import { Machine, type ThpSetting } from '../kernel/machine.js';
import type { ArchName } from '../kernel/mm/arch.js';
import { Mm } from '../kernel/mm/mm.js';
import { type BarSpec, PciDev } from '../kernel/pci/pci.js';
import type { VfioPciCoreDevice } from '../kernel/vfio/pci/core.js';
import type { VfioPciDriverName } from '../kernel/vfio/pci/driver-names.js';
import { VFIO_PCI_DRIVERS } from '../kernel/vfio/pci/drivers.js';
import type { Type1Container } from '../kernel/vfio/vfio_iommu_type1.js';
import { Cell } from '../sched/cell.js';
import { Mutex } from '../sched/mutex.js';
import { currentThread } from '../sched/prim.js';
import type { Thread } from '../sched/program.js';

export interface DeviceSpec {
  name: string;
  bars: BarSpec[];
  /** Supports VFIO_DEVICE_RESET (default true). */
  reset?: boolean;
  noCommandMemory?: boolean;
  /** The function supports ATS behind the IOMMU (default false). */
  ats?: boolean;
  /** The driver bound to it (default vfio-pci). */
  driver?: VfioPciDriverName;
}

export interface SystemSpec {
  arch?: ArchName;
  thp?: ThpSetting;
  /** The design (default upstream). */
  design?: Design;
  devices: DeviceSpec[];
}

/** An iommufd context (an open /dev/iommu). */
export interface Iommufd {
  name: string;
  ioas: Ioas[];
}

/** RLIMIT_NOFILE's soft limit as a login shell starts with it (fs/file.c allocates below it). */
export const DEFAULT_NOFILE = 1024;

/** -EMFILE: too many open files. */
const EMFILE = -24;

/** The fd numbers a process starts with: stdin, stdout, stderr. */
const FIRST_FD = 3;

export class Process {
  /**
   * fd -> file. Changed and read only through fdget/getUnusedFdFlags/fdInstall/closeFd, each an event on
   * `fdtable` (fdInstall within the allocation's event), so the explorer orders one thread's close
   * against another thread's use of the same fd.
   */
  readonly fds = new Map<number, File>();
  /** files->fdt as published to RCU readers: written by allocation and close, read by fdget. */
  readonly fdtable: Cell<number>;
  /** fds get_unused_fd_flags() handed out that have no file yet (open_fds bits without fd[] entries). */
  private readonly reserved = new Set<number>();
  /**
   * RLIMIT_NOFILE (its soft limit): alloc_fd() refuses fd numbers from it on with -EMFILE. Written
   * by setrlimit with an event on `fdtable` (the kernel reads it locklessly in alloc_fd(), so the
   * two are ordered only by which comes first: one object for both gives exactly those orders).
   */
  nofile = DEFAULT_NOFILE;
  /**
   * files->file_lock (a spinlock): close_fd() removes an entry and dup_fd() (fork) copies the table
   * and takes a reference on each file under it, so a fork never copies an entry whose file a
   * concurrent close has already put. (Allocation, which the kernel also does under it, is one
   * event on `fdtable` in the model: it takes no file reference.)
   */
  readonly fileLock: Mutex;
  constructor(
    readonly system: System,
    readonly name: string,
    readonly mm: Mm,
  ) {
    this.fdtable = new Cell(`${name}.fdtable`, 0);
    this.fileLock = new Mutex(`${name}.file_lock`, { lockClass: 'file_lock' });
  }

  /**
   * files->count > 1: another task shares this fd table (the scenario gives the process two or
   * more threads, which share it as CLONE_FILES threads do). fdget() then takes a real reference,
   * which the syscall drops on its way out (fdput()); with the table unshared no other task can
   * close an fd under the lookup and fdget() borrows the file. Set by the scenario when its threads
   * start; setup runs as the process's one task.
   */
  sharedFiles = false;
  /** The references fdget() took on a shared table, per thread, until fdput(). */
  private readonly cloned = new Map<number, File[]>();

  // fs/file.c: fdget() -> __fget_light(fd, FMODE_PATH) — an unshared table is read under RCU and
  // the file borrowed; a shared one goes through __fget_files(), whose reference fdput() drops at
  // the end of the syscall. An O_PATH file is not found (FMODE_PATH in the mask), so every syscall
  // that uses fdget() says -EBADF for an O_PATH fd.
  *fdget(fd: number): Thread<File | undefined> {
    if (!this.sharedFiles) {
      yield* this.fdtable.read();
      const f = this.fds.get(fd);
      return f?.fmodePath ? undefined : f;
    }
    const f = yield* this.__fgetFiles(fd, true);
    if (f) {
      const t = currentThread();
      const held = this.cloned.get(t);
      if (held) held.push(f);
      else this.cloned.set(t, [f]);
    }
    return f;
  }

  // include/linux/file.h: fdput() (the CLASS(fd) cleanup as the syscall returns): the reference
  // fdget() took on a shared table goes back; a borrowed lookup has none.
  *fdput(): Thread<void> {
    const held = this.cloned.get(currentThread());
    while (held && held.length > 0) yield* fput(held.pop()!);
  }

  // fs/file.c: fget_raw() -> __fget(fd, 0): always a reference (dup(), SCM_RIGHTS), O_PATH too.
  *fgetRaw(fd: number): Thread<File | undefined> {
    return yield* this.__fgetFiles(fd, false);
  }

  // fs/file.c: fget_task() -> __fget_files(task->files, fd, 0) (proc_fd_link()).
  *fgetTask(fd: number): Thread<File | undefined> {
    return yield* this.__fgetFiles(fd, false);
  }

  // fs/file.c: __fget_files() -> __fget_files_rcu() — load the file from the table, take a
  // reference unless it is dead (file_ref_get()), and keep it only if the table still holds that
  // file, otherwise put it back and look again; a file of a mode the mask refuses (O_PATH for
  // fget()/fdget()) is put back and not found.
  *__fgetFiles(fd: number, refusePath: boolean): Thread<File | undefined> {
    for (;;) {
      yield* this.fdtable.read();
      const f = this.fds.get(fd);
      if (!f) return undefined;
      if (!(yield* fileRefGet(f))) continue;
      yield* this.fdtable.read();
      if (this.fds.get(fd) !== f) {
        yield* fput(f);
        continue;
      }
      if (refusePath && f.fmodePath) {
        yield* fput(f);
        return undefined;
      }
      return f;
    }
  }

  // fs/file.c: get_unused_fd_flags() -> alloc_fd(0, rlimit(RLIMIT_NOFILE)) under files->file_lock:
  // the lowest fd with no file and no reservation, -EMFILE at or past the limit.
  *getUnusedFdFlags(): Thread<number> {
    yield* this.fdtable.rmw((g) => [g + 1, undefined]);
    let fd = FIRST_FD;
    while (this.fds.has(fd) || this.reserved.has(fd)) fd++;
    if (fd >= this.nofile) return EMFILE;
    this.reserved.add(fd);
    return fd;
  }

  // fs/file.c: fd_install() — the reserved fd gets its file (an RCU publish; nothing can name the
  // fd before the syscall that allocated it returns, so the model needs no event of its own).
  fdInstall(fd: number, file: File): void {
    if (!this.reserved.delete(fd)) throw new Error(`BUG: fd_install() of fd ${fd}, which was not allocated`);
    this.fds.set(fd, file);
  }

  // fs/file.c: put_unused_fd() — give back a reserved fd, under files->file_lock.
  *putUnusedFd(fd: number): Thread<void> {
    yield* this.fdtable.rmw((g) => [g + 1, undefined]);
    this.reserved.delete(fd);
  }

  /** get_unused_fd_flags() then fd_install(): a new fd for a file, or -EMFILE. */
  *install(file: File): Thread<number> {
    const fd = yield* this.getUnusedFdFlags();
    if (fd >= 0) this.fdInstall(fd, file);
    return fd;
  }

  // fs/file.c: file_close_fd() — take the file out of the table under files->file_lock.
  *closeFd(fd: number): Thread<File | undefined> {
    yield* this.fileLock.lock();
    yield* this.fdtable.rmw((g) => [g + 1, undefined]);
    const f = this.fds.get(fd);
    this.fds.delete(fd);
    yield* this.fileLock.unlock();
    return f;
  }

  // fs/file.c: dup_fd() — fork's copy of the fd table: under the old table's file_lock, each open
  // file gets a reference for the child's entry.
  *dupFd(): Thread<Map<number, File>> {
    const copy = new Map<number, File>();
    yield* this.fileLock.lock();
    yield* this.fdtable.read();
    for (const [fd, f] of this.fds) {
      yield* getFile(f);
      copy.set(fd, f);
    }
    yield* this.fileLock.unlock();
    return copy;
  }

  // kernel/sys.c: do_prlimit(RLIMIT_NOFILE) — the new soft limit (see `nofile`).
  *setNofile(n: number): Thread<void> {
    yield* this.fdtable.rmw((g) => [g + 1, undefined]);
    this.nofile = n;
  }

  /** After fork: the child's table is a copy of the parent's (dup_fd()), and so is its rlimit. */
  copyFrom(parent: Process): void {
    this.nofile = parent.nofile;
  }
}

export class System {
  readonly machine: Machine;
  readonly devices = new Map<string, VfioPciCoreDevice>();
  /** Each device's IOMMU domain. */
  readonly domains = new Map<string, IommuDomain>();
  readonly processes = new Map<string, Process>();
  readonly containers = new Map<string, Type1Container>();
  readonly importers = new Map<string, Importer>();

  constructor(spec: SystemSpec) {
    this.machine = new Machine(spec.arch ?? 'x86_64', spec.thp ?? 'always', spec.design ?? DESIGNS.upstream);
    for (const d of spec.devices) {
      if (this.devices.has(d.name)) throw new Error(`two devices named ${d.name}`);
      const driver = VFIO_PCI_DRIVERS[d.driver ?? 'vfio-pci'];
      const pdev = new PciDev(this.machine, {
        name: d.name,
        bars: driver.hardware?.(d.bars) ?? d.bars,
        ...(d.reset !== undefined ? { reset: d.reset } : {}),
        ...(d.noCommandMemory !== undefined ? { noCommandMemory: d.noCommandMemory } : {}),
        ...(d.ats !== undefined ? { ats: d.ats } : {}),
      });
      this.devices.set(d.name, driver.probe(this.machine, pdev));
      this.domains.set(d.name, new Domain(`${d.name}.domain`));
    }
  }

  /** A process with a fresh address space. */
  spawn(name: string): Process {
    return this.spawnWith(name, new Mm(this.machine, this.mmName(name)));
  }

  /** The name of a process's mm, started or forked: `mm.<process>` (its locks and tables are named after it). */
  mmName(process: string): string {
    return `mm.${process}`;
  }

  /** A process with the given address space (fork). */
  spawnWith(name: string, mm: Mm): Process {
    if (this.processes.has(name)) throw new Error(`two processes named ${name}`);
    const p = new Process(this, name, mm);
    this.processes.set(name, p);
    return p;
  }

  /** The IOMMU domain a device's DMA goes through (one per device, translating nothing until attached). */
  domainOf(device: string): IommuDomain {
    return this.domains.get(device)!;
  }
}
