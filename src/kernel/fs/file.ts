// struct file and struct inode (include/linux/fs.h), with the reference counting of fs/file_table.c.
//
// fput() runs the release when the last reference goes. The kernel defers __fput() to task work that
// runs before the task returns to user space; the model runs it in the putting thread at once,
// which is the same moment as far as other threads can tell.

import { Cell } from '../../sched/cell.js';
import type { Thread } from '../../sched/program.js';
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
  if (old <= 0) throw new Error(`BUG: get_file() on ${file.name} with f_count ${old} (use after free)`);
  return file;
}

// fs/file_table.c: fput() (with __fput() run at once; see the file comment)
export function* fput(file: File): Thread<void> {
  const old = yield* file.count.rmw((c) => [c - 1, c]);
  if (old <= 0) throw new Error(`BUG: fput() on ${file.name} with f_count ${old} (refcount underflow)`);
  if (old === 1) {
    if (file.fop.release) yield* file.fop.release(file);
    file.released = true;
  }
}
