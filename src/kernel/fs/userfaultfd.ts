// userfaultfd (fs/userfaultfd.c, mm/userfaultfd.c; docs/mm.md, "Anonymous memory and
// userfaultfd"): a process registers a range of its anonymous memory for missing-page faults; a
// fault on a missing page of it sleeps, with mmap_lock dropped, until the handler fills the page
// with UFFDIO_COPY. That is how tests — and attackers — hold a kernel path stopped inside a user
// copy for as long as they like.

import { Completion } from '../../sched/completion.js';
import type { Thread } from '../../sched/program.js';
import { PAGE_SIZE } from '../mm/arch.js';
import type { Mm } from '../mm/mm.js';
import {
  hasFlag,
  setFlags,
  type UffdCtxRef,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_UFFD_MISSING,
  type Vma,
  type VmFault,
} from '../mm/mm_types.js';
import { File, type FileOperations, Inode } from './file.js';

export const EINVAL = -22;
export const ENOENT = -2;
export const EEXIST = -17;

/** fs/userfaultfd.c: userfaultfd_fops ("[userfaultfd]" anon inode): ioctls only. */
export const userfaultfdFops: FileOperations = { name: 'userfaultfd_fops' };

/**
 * struct userfaultfd_ctx. The fault wait queue (fault_pending_wqh) is one completion per page a
 * fault waits on: a waiter queues itself before it checks the page table and the copier wakes after
 * it set the entry, so no wakeup is lost; the model's permanent completion (complete_all) has the
 * same effect without the queue. A page of a registered VMA is filled at most once (the model has
 * no MADV_DONTNEED or UFFDIO_ZEROPAGE to empty it again), so the completion never needs re-arming.
 */
export class UserfaultfdCtx implements UffdCtxRef {
  private readonly waits = new Map<number, Completion>();
  readonly file: File;
  constructor(
    readonly name: string,
    readonly mm: Mm,
  ) {
    this.file = newUffdFile(this);
  }

  /** The wait queue entry of the page at `addr` (page aligned). */
  waitOf(addr: number): Completion {
    let c = this.waits.get(addr);
    if (!c) {
      // Keyed: the faulting thread or the copier, whichever comes first, makes it.
      const name = `${this.name}.fault_wqh@${addr.toString(16)}`;
      c = new Completion(name, { key: name });
      this.waits.set(addr, c);
    }
    return c;
  }
}

// fs/userfaultfd.c: new_userfaultfd() -> anon_inode_create_getfile("[userfaultfd]", ...)
function newUffdFile(ctx: UserfaultfdCtx): File {
  return new File(ctx.name, new Inode(ctx.name), userfaultfdFops, ctx);
}

// fs/userfaultfd.c: userfaultfd_register() (UFFDIO_REGISTER_MODE_MISSING over whole VMAs)
/**
 * With mmap_lock held for write by the caller: every VMA in [start, end) must be anonymous
 * (vma_can_userfault()); each gets VM_UFFD_MISSING and the context. Returns 0 or -EINVAL.
 */
export function userfaultfdRegister(ctx: UserfaultfdCtx, mm: Mm, start: number, end: number): number {
  const vmas = mm.vmas.filter((v) => v.start < end && start < v.end);
  if (vmas.length === 0 || vmas.some((v) => !v.anonymous)) return EINVAL;
  for (const v of vmas) {
    v.flags = setFlags(v.flags, VM_UFFD_MISSING);
    v.uffd = ctx;
  }
  return 0;
}

/** include/linux/userfaultfd_k.h: userfaultfd_missing(). */
export function userfaultfdMissing(vma: Vma): boolean {
  return hasFlag(vma.flags, VM_UFFD_MISSING);
}

// fs/userfaultfd.c: handle_userfault()
/**
 * A fault on a missing page of a registered VMA, mmap_lock held for read. Without
 * FAULT_FLAG_ALLOW_RETRY the fault cannot wait: VM_FAULT_SIGBUS. Otherwise the task queues itself,
 * checks without a lock that the page is still missing (userfaultfd_must_wait()), drops mmap_lock
 * (release_fault_lock()) and sleeps until UFFDIO_COPY fills the page and wakes it, then returns
 * VM_FAULT_RETRY: the caller faults again, taking mmap_lock afresh.
 */
export function* handleUserfault(vmf: VmFault): Thread<number> {
  const vma = vmf.vma;
  const ctx = vma.uffd as UserfaultfdCtx | undefined;
  if (!ctx || !vmf.allowRetry) return VM_FAULT_SIGBUS;
  const mm = vma.mm;
  const mustWait = (yield* mm.pt.walk(vmf.address)) === null;
  yield* mm.mmapLock.upRead();
  if (mustWait) yield* ctx.waitOf(vmf.address).wait();
  return VM_FAULT_RETRY;
}

// fs/userfaultfd.c: userfaultfd_copy() -> mm/userfaultfd.c: mfill_atomic_copy()
/**
 * UFFDIO_COPY of [dst, dst + len): mmap_lock for read (uffd_mfill_lock() falls back to it); the
 * destination VMA must be registered with this context (-ENOENT otherwise); each page is allocated
 * and copied from the source (the model tracks no data), then installed under its PTE lock
 * (mfill_atomic_install_pte(): -EEXIST when the entry is no longer empty). After the lock is
 * dropped, the waiters on the copied range are woken (wake_userfault()). Bytes copied, or -errno
 * when the first page failed.
 */
export function* userfaultfdCopy(
  ctx: UserfaultfdCtx,
  dst: number,
  len: number,
  allocPage: () => number,
): Thread<number> {
  if (dst % PAGE_SIZE !== 0 || len <= 0 || len % PAGE_SIZE !== 0) return EINVAL;
  const mm = ctx.mm;
  yield* mm.mmapLock.downRead();
  const vma = mm.vmaLookup(dst);
  let copied = 0;
  let err = 0;
  if (!vma || vma.uffd !== ctx || dst + len > vma.end || !vma.anonymous) err = ENOENT;
  else {
    for (let addr = dst; addr < dst + len; addr += PAGE_SIZE) {
      const pfn = allocPage(); // mfill_atomic_pte_copy(): folio_alloc + copy_from_user
      const pmd = yield* mm.pt.pmdAlloc(addr);
      const pte = pmd === null ? null : yield* mm.pt.pteAlloc(pmd, addr);
      if (pte === null) {
        err = EEXIST; // a huge leaf is there: mfill_atomic() returns -EEXIST
        break;
      }
      yield* pte.lock.lock();
      const idx = pte.slot(addr);
      const cur = yield* pte.readLeaf(idx);
      if (cur !== undefined) {
        yield* pte.lock.unlock();
        err = EEXIST;
        break;
      }
      yield* pte.setLeaves(idx, idx + 1, pfn, false, true);
      yield* pte.lock.unlock();
      copied += PAGE_SIZE;
    }
  }
  yield* mm.mmapLock.upRead();
  // userfaultfd_copy(): wake_userfault() over the range copied, outside mmap_lock.
  for (let addr = dst; addr < dst + copied; addr += PAGE_SIZE) yield* ctx.waitOf(addr).completeAll();
  return copied > 0 ? copied : err;
}
