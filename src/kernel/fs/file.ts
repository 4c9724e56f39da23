// struct file, struct dentry and struct inode (include/linux/fs.h, include/linux/dcache.h), with the
// reference counting of fs/file_table.c and fs/dcache.c.
//
// fput() of the last reference does not release the file at once: the kernel queues __fput() as
// task work, which runs when the task returns to user space (kernel/task_work.c, from
// resume_user_mode_work()), after the syscall has dropped its locks. The model does the same:
// taskWorkRun() at the end of each syscall runs the releases its thread queued. (A put during
// setup() releases at once.)
//
// Two lifetimes. A file holds a reference on its dentry (f_path); so does an O_PATH file opened on
// the same path (open("/proc/self/fd/N", O_PATH): do_dentry_open() takes path_get() and nothing
// else). __fput() runs f_op->release, then dput()s the dentry, then frees the struct file; the
// dentry's own release (d_op->d_release) runs only when its last reference goes, which may be an
// O_PATH file's close long after the struct file was freed. Both counts are events, and so is the
// free: file_free() marks the file's f_count cell FILE_FREED, so code that reaches the struct file
// after it was freed — through a pointer it holds without a reference, such as dma_buf->file — is
// a USE_AFTER_FREE at that access, which the explorer orders against the free.

import { Cell } from '../../sched/cell.js';
import { currentHost, currentThread, type Host } from '../../sched/prim.js';
import type { Thread } from '../../sched/program.js';
import { Violation } from '../../sched/violation.js';
import type { VmAreaDesc, Vma } from '../mm/mm_types.js';
import { AddressSpace } from './address-space.js';

/**
 * The value of a file's f_count cell once file_free() has run: the struct file is back in the filp
 * slab (SLAB_TYPESAFE_BY_RCU) and any access to it outside an RCU read-side section that found it
 * before the free is a use-after-free (what KASAN with SLUB_RCU_DEBUG reports).
 */
export const FILE_FREED = -1;

export interface FileOperations {
  name: string;
  /** f_op->mmap_prepare(desc): 0 or a negative errno. Runs before the VMA exists (mm/vma.c). */
  mmapPrepare?(desc: VmAreaDesc): Thread<number>;
  /** The legacy f_op->mmap(file, vma): 0 or a negative errno. */
  mmap?(file: File, vma: Vma): Thread<number>;
  /** f_op->release(inode, file), when the last reference is put. */
  release?(file: File): Thread<void>;
}

/** fs/open.c: do_dentry_open()'s empty_fops, the f_op of every O_PATH file: no method at all. */
export const emptyFops: FileOperations = { name: 'empty_fops' };

export class Inode {
  readonly mapping: AddressSpace;
  constructor(readonly name: string) {
    this.mapping = new AddressSpace(name);
  }
}

/** struct dentry_operations: the one method the model's dentries use. */
export interface DentryOperations {
  name: string;
  /** d_op->d_release(dentry): from __dentry_kill(), when the last reference is gone. */
  release?(dentry: Dentry): Thread<void>;
}

/**
 * struct dentry: its reference count (d_lockref), its operations and d_fsdata. Every model file
 * has its own (the pseudo-fs and anon-inode files of the model are made with one each:
 * alloc_file_pseudo(); a VFIO cdev's dentry, which every open shares, has no d_release, so giving
 * each open its own orders nothing the model can see).
 */
export class Dentry {
  /** d_lockref.count: the files (f_path) and O_PATH files that hold it. */
  readonly count: Cell<number>;
  /** d_fsdata (the dma-buf's dentry points at its struct dma_buf). */
  fsdata: unknown = undefined;
  /** __dentry_kill() has run: d_release, then the dentry freed. */
  killed = false;
  constructor(
    readonly name: string,
    readonly inode: Inode,
    readonly op: DentryOperations | undefined = undefined,
  ) {
    this.count = new Cell(`${name}.d_lockref`, 1);
  }
}

export interface FileOptions {
  /** f_path.dentry: a dentry the new file takes over (one reference of it is the file's). */
  dentry?: Dentry;
  /** FMODE_PATH: an O_PATH file (do_dentry_open() with O_PATH: empty_fops, no ->open). */
  fmodePath?: boolean;
}

/** f_count in traces: the count, or `freed` once file_free() has run. */
const showFileCount = (c: number): string => (c === FILE_FREED ? 'freed' : String(c));

export class File {
  /** f_count (f_ref); FILE_FREED once file_free() has run. */
  readonly count: Cell<number>;
  /** f_mapping: the address_space VMAs of this file are linked into. */
  mapping: AddressSpace;
  /** True once release has run. */
  released = false;
  /** f_path.dentry: the file holds one reference on it, dropped by __fput(). */
  readonly dentry: Dentry;
  /** FMODE_PATH: fdget() and fget() do not find this file (EBADF); close, dup and SCM_RIGHTS do. */
  readonly fmodePath: boolean;

  constructor(
    readonly name: string,
    readonly inode: Inode,
    readonly fop: FileOperations,
    /** private_data. */
    public privateData: unknown = undefined,
    o: FileOptions = {},
  ) {
    this.count = new Cell(`${name}.f_count`, 1, { show: showFileCount });
    this.mapping = inode.mapping;
    this.dentry = o.dentry ?? new Dentry(name, inode);
    this.fmodePath = o.fmodePath ?? false;
  }

  describe(): string {
    return this.name;
  }
}

/** The message of an access to a freed struct file. */
function freedFile(what: string, file: File): Violation {
  return new Violation(
    'USE_AFTER_FREE',
    `${what} on ${file.name}, whose struct file was already freed (file_free())`,
  );
}

// include/linux/fs.h: get_file()
export function* getFile(file: File): Thread<File> {
  const old = yield* file.count.rmw((c) => (c === FILE_FREED ? [c, c] : [c + 1, c]));
  if (old === FILE_FREED) throw freedFile('get_file()', file);
  if (old <= 0)
    throw new Violation('USE_AFTER_FREE', `get_file() on ${file.name}, already released (f_count ${old})`);
  return file;
}

// fs/file_table.c: fput() — the last reference queues __fput() as task work.
export function* fput(file: File): Thread<void> {
  const old = yield* file.count.rmw((c) => (c === FILE_FREED ? [c, c] : [c - 1, c]));
  if (old === FILE_FREED) throw freedFile('fput()', file);
  if (old <= 0)
    throw new Violation('REFCOUNT', `fput() on ${file.name} with f_count ${old}: reference count underflow`);
  if (old === 1) {
    const t = currentThread();
    const host = currentHost();
    if (t < 0 || !host) {
      yield* __fput(file);
      return;
    }
    let perThread = taskWorkOf(host);
    if (!perThread) {
      perThread = new Map();
      taskWork.set(host, { execution: host.executionNumber, perThread });
    }
    const q = perThread.get(t) ?? [];
    q.push(file);
    perThread.set(t, q);
  }
}

// fs/file_table.c: __fput() — f_op->release, then dput() of f_path.dentry (mntput: no mounts in
// the model), then file_free().
function* __fput(file: File): Thread<void> {
  if (file.fop.release) yield* file.fop.release(file);
  file.released = true;
  yield* dput(file.dentry);
  yield* fileFree(file);
}

// fs/file_table.c: file_free() — the struct file goes back to the filp slab.
function* fileFree(file: File): Thread<void> {
  yield* file.count.write(FILE_FREED);
}

// include/linux/dcache.h: dget() — a reference on a dentry the caller reaches through a reference
// it holds (a file's f_path, a path it looked up).
export function* dget(dentry: Dentry): Thread<Dentry> {
  const old = yield* dentry.count.rmw((c) => [c + 1, c]);
  if (old <= 0) throw new Violation('USE_AFTER_FREE', `dget() on dentry ${dentry.name}, already killed`);
  return dentry;
}

// fs/dcache.c: dput() — the last reference kills the dentry (the model's dentries are unhashed
// pseudo-fs and anon-inode dentries, which are never kept in the dcache: retain_dentry() is false).
export function* dput(dentry: Dentry): Thread<void> {
  const old = yield* dentry.count.rmw((c) => [c - 1, c]);
  if (old <= 0)
    throw new Violation(
      'REFCOUNT',
      `dput() on dentry ${dentry.name} with d_count ${old}: reference count underflow`,
    );
  if (old === 1) yield* __dentryKill(dentry);
}

// fs/dcache.c: __dentry_kill() — dentry_unlink_inode() (iput: the model's inodes have no lifetime),
// then d_op->d_release, then dentry_free().
function* __dentryKill(dentry: Dentry): Thread<void> {
  if (dentry.op?.release) yield* dentry.op.release(dentry);
  dentry.killed = true;
}

// include/linux/file_ref.h: file_ref_get() — a reference unless the count is already zero, for a
// file found under RCU (an fd table slot): a file released, or freed, since it was found is not
// an error there (the filp slab is SLAB_TYPESAFE_BY_RCU); the caller looks again.
export function* fileRefGet(file: File): Thread<boolean> {
  return yield* file.count.rmw((c) => (c <= 0 ? [c, false] : [c + 1, true]));
}

/**
 * Files whose last reference was put, per thread, waiting for task_work_run(): per host and the
 * execution it is running (a thread that died of a violation before returning to user space
 * leaves its queue behind; the next execution must not run it).
 */
const taskWork = new WeakMap<Host, { execution: number; perThread: Map<number, File[]> }>();

function taskWorkOf(host: Host): Map<number, File[]> | undefined {
  const w = taskWork.get(host);
  return w && w.execution === host.executionNumber ? w.perThread : undefined;
}

// kernel/task_work.c: task_work_run(), on the way back to user space: the queued __fput()s.
export function* taskWorkRun(): Thread<void> {
  const host = currentHost();
  const q = host ? taskWorkOf(host)?.get(currentThread()) : undefined;
  while (q && q.length > 0) yield* __fput(q.shift()!);
}

/**
 * A `struct file *` that an object keeps without holding a reference (dma_buf->file), as
 * get_file_active() is given it: the File itself when nothing ever changes the pointer after it was
 * published (reading it is then no event), or the Cell holding it when some code writes it (the
 * dma-buf core's release with the annul fix, design option dmabufFileAnnulled).
 */
export type FilePointer = File | Cell<File | null>;

// fs/file_table.c: get_file_active() -> __get_file_rcu()
/**
 * Under rcu_read_lock(): load the pointer, take a reference if the file's count is not zero
 * (file_ref_get()), reload the pointer and keep the reference only if it still points at the same
 * file. The file or null. drivers/vfio/pci/vfio_pci_dmabuf.c calls it on &priv->dmabuf->file.
 *
 * The filp slab is SLAB_TYPESAFE_BY_RCU: a file freed after the pointer was loaded, inside the
 * read-side section, is still a struct file (the count reads dead, or a reused file fails the
 * reload): no reference, null. A file freed before the section began — the pointer already
 * dangling when it was loaded — is a use-after-free at the count (KASAN with SLUB_RCU_DEBUG).
 * For a pointer nobody changes the load is no event, so load and count are one event and a freed
 * count is always the dangling case. For a pointer that is cleared before the file is freed
 * (dmabufFileAnnulled), a loaded non-null pointer means the free came after the load. In the model
 * the reload cannot differ (a reference, once taken, keeps the release, and with it any write of
 * the pointer, from running; and no slot is reused), so it is not an event.
 */
export function* getFileActive(ptr: FilePointer): Thread<File | null> {
  const constant = ptr instanceof File;
  const file = constant ? ptr : yield* ptr.read();
  if (!file) return null;
  const old = yield* file.count.rmw((c) => (c <= 0 ? [c, c] : [c + 1, c]));
  if (old === FILE_FREED) {
    if (constant) throw freedFile('get_file_active()', file);
    return null;
  }
  return old === 0 ? null : file;
}

// fs/open.c: close(2) -> filp_close() -> fput(), then the task work at syscall exit.
export function* closeFile(file: File): Thread<void> {
  yield* fput(file);
  yield* taskWorkRun();
}
