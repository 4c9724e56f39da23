// struct file and struct inode (include/linux/fs.h), with the reference counting of fs/file_table.c.
//
// fput() of the last reference does not release the file at once: the kernel queues __fput() as
// task work, which runs when the task returns to user space (kernel/task_work.c, from
// resume_user_mode_work()), after the syscall has dropped its locks. The model does the same:
// taskWorkRun() at the end of each syscall runs the releases its thread queued. (A put during
// setup() releases at once.)

import { Cell } from '../../sched/cell.js';
import { currentHost, currentThread } from '../../sched/prim.js';
import type { Thread } from '../../sched/program.js';
import { Violation } from '../../sched/violation.js';
import type { VmAreaDesc, Vma } from '../mm/mm_types.js';
import { AddressSpace } from './address-space.js';

export interface FileOperations {
  name: string;
  /** f_op->mmap_prepare(desc): 0 or a negative errno. Runs before the VMA exists (mm/vma.c). */
  mmapPrepare?(desc: VmAreaDesc): Thread<number>;
  /** The legacy f_op->mmap(file, vma): 0 or a negative errno. */
  mmap?(file: File, vma: Vma): Thread<number>;
  /** f_op->release(inode, file), when the last reference is put. */
  release?(file: File): Thread<void>;
}

export class Inode {
  readonly mapping: AddressSpace;
  constructor(readonly name: string) {
    this.mapping = new AddressSpace(name);
  }
}

export class File {
  /** f_count. */
  readonly count: Cell<number>;
  /** f_mapping: the address_space VMAs of this file are linked into. */
  mapping: AddressSpace;
  /** True once release has run. */
  released = false;

  constructor(
    readonly name: string,
    readonly inode: Inode,
    readonly fop: FileOperations,
    /** private_data. */
    public privateData: unknown = undefined,
  ) {
    this.count = new Cell(`${name}.f_count`, 1);
    this.mapping = inode.mapping;
  }

  describe(): string {
    return this.name;
  }
}

// include/linux/fs.h: get_file()
export function* getFile(file: File): Thread<File> {
  const old = yield* file.count.rmw((c) => [c + 1, c]);
  if (old <= 0)
    throw new Violation('USE_AFTER_FREE', `get_file() on ${file.name}, already released (f_count ${old})`);
  return file;
}

// fs/file_table.c: fput() — the last reference queues __fput() as task work.
export function* fput(file: File): Thread<void> {
  const old = yield* file.count.rmw((c) => [c - 1, c]);
  if (old <= 0)
    throw new Violation('REFCOUNT', `fput() on ${file.name} with f_count ${old}: reference count underflow`);
  if (old === 1) {
    const t = currentThread();
    const host = currentHost();
    if (t < 0 || !host) {
      yield* release(file);
      return;
    }
    let perThread = taskWork.get(host);
    if (!perThread) {
      perThread = new Map();
      taskWork.set(host, perThread);
    }
    const q = perThread.get(t) ?? [];
    q.push(file);
    perThread.set(t, q);
  }
}

// fs/file_table.c: __fput()
function* release(file: File): Thread<void> {
  if (file.fop.release) yield* file.fop.release(file);
  file.released = true;
}

/** Files whose last reference was put, per execution and thread, waiting for task_work_run(). */
const taskWork = new WeakMap<object, Map<number, File[]>>();

// kernel/task_work.c: task_work_run(), on the way back to user space: the queued __fput()s.
export function* taskWorkRun(): Thread<void> {
  const host = currentHost();
  const q = host ? taskWork.get(host)?.get(currentThread()) : undefined;
  while (q && q.length > 0) yield* release(q.shift()!);
}

// include/linux/fs.h: get_file_active()
// drivers/vfio/pci/vfio_pci_dmabuf.c uses get_file_active(): a reference only if one is left.
export function* getFileActive(file: File): Thread<boolean> {
  return yield* file.count.rmw((c) => (c === 0 ? [0, false] : [c + 1, true]));
}

// fs/open.c: close(2) -> filp_close() -> fput(), then the task work at syscall exit.
export function* closeFile(file: File): Thread<void> {
  yield* fput(file);
  yield* taskWorkRun();
}
