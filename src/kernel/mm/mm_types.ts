// struct vm_area_struct, its flags, vm_operations_struct and struct vm_area_desc
// (include/linux/mm_types.h, include/linux/mm.h).

import type { Thread } from '../../sched/program.js';
import type { File } from '../fs/file.js';
import type { Level } from './arch.js';
import { PAGE_SIZE } from './arch.js';
import type { Mm } from './mm.js';

export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_SHARED = 0x8;
export const VM_MAYSHARE = 0x80;
/** include/linux/mm.h: VM_UFFD_MISSING — a userfaultfd handles this VMA's missing-page faults. */
export const VM_UFFD_MISSING = 0x200;
export const VM_PFNMAP = 0x400;
export const VM_IO = 0x4000;
export const VM_DONTEXPAND = 0x40000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
export const VM_DONTDUMP = 0x4000000;
/**
 * VM_ALLOW_ANY_UNCACHED (arm64 KVM may use Normal-NC at stage 2). The kernel's bit is above 31;
 * the model gives it an unused low bit so flags combine with JavaScript's 32-bit `|`.
 */
export const VM_ALLOW_ANY_UNCACHED = 0x1000000;
/** include/linux/mm.h: VM_SPECIAL — never merged, never expanded by mremap. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

const FLAG_NAMES: [number, string][] = [
  [VM_READ, 'READ'],
  [VM_WRITE, 'WRITE'],
  [VM_SHARED, 'SHARED'],
  [VM_UFFD_MISSING, 'UFFD_MISSING'],
  [VM_PFNMAP, 'PFNMAP'],
  [VM_IO, 'IO'],
  [VM_DONTEXPAND, 'DONTEXPAND'],
  [VM_DONTDUMP, 'DONTDUMP'],
  [VM_MIXEDMAP, 'MIXEDMAP'],
  [VM_HUGEPAGE, 'HUGEPAGE'],
  [VM_NOHUGEPAGE, 'NOHUGEPAGE'],
  [VM_ALLOW_ANY_UNCACHED, 'ALLOW_ANY_UNCACHED'],
];

/** Flags are above 2^31, so bit tests go through these (JS bitwise operators are 32-bit). */
export const hasFlag = (flags: number, f: number): boolean => Math.floor(flags / f) % 2 === 1;
export const setFlags = (flags: number, f: number): number => {
  let out = flags;
  for (const [bit] of FLAG_NAMES) if (hasFlag(f, bit) && !hasFlag(out, bit)) out += bit;
  return out;
};
export const clearFlags = (flags: number, f: number): number => {
  let out = flags;
  for (const [bit] of FLAG_NAMES) if (hasFlag(f, bit) && hasFlag(out, bit)) out -= bit;
  return out;
};
export const anyFlag = (flags: number, f: number): boolean =>
  FLAG_NAMES.some(([b]) => hasFlag(f, b) && hasFlag(flags, b));

export function flagNames(flags: number): string {
  return FLAG_NAMES.filter(([b]) => hasFlag(flags, b))
    .map(([, n]) => n)
    .join('|');
}

// include/linux/mm_types.h: vm_fault_t values (include/linux/mm_types.h enum vm_fault_reason).
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_SIGSEGV = 0x40;
export const VM_FAULT_NOPAGE = 0x100;
/** The fault handler dropped mmap_lock and the access must fault again (handle_userfault()). */
export const VM_FAULT_RETRY = 0x400;
export const VM_FAULT_FALLBACK = 0x800;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV;

export function faultName(r: number): string {
  if (r === 0) return '0';
  const parts: string[] = [];
  if (r & VM_FAULT_OOM) parts.push('OOM');
  if (r & VM_FAULT_SIGBUS) parts.push('SIGBUS');
  if (r & VM_FAULT_SIGSEGV) parts.push('SIGSEGV');
  if (r & VM_FAULT_NOPAGE) parts.push('NOPAGE');
  if (r & VM_FAULT_RETRY) parts.push('RETRY');
  if (r & VM_FAULT_FALLBACK) parts.push('FALLBACK');
  return parts.join('|');
}

/** include/linux/mm.h: struct vm_fault (the parts the model uses). */
export interface VmFault {
  vma: Vma;
  /** Faulting address, page aligned. */
  address: number;
  /** The address as faulted (vmf->real_address). */
  realAddress: number;
  /** Page offset of `address` in the file: vm_pgoff + (address - vm_start) / PAGE_SIZE. */
  pgoff: number;
  write: boolean;
  /**
   * FAULT_FLAG_ALLOW_RETRY: the caller can take VM_FAULT_RETRY with mmap_lock dropped (a CPU
   * access's fault does; get_user_pages() under the caller's mmap_lock does not).
   */
  allowRetry: boolean;
}

export interface VmOperations {
  name: string;
  /** vm_ops->fault(vmf): order-0 fault. */
  fault?(vmf: VmFault): Thread<number>;
  /** vm_ops->huge_fault(vmf, order). */
  hugeFault?(vmf: VmFault, order: number): Thread<number>;
  /**
   * Model-only, no kernel counterpart: true when hugeFault(vmf, order) returns VM_FAULT_FALLBACK
   * from a first check that reads nothing shared (the driver's own: VFIO's alignment check). The
   * fault path then reads of an entry only what its outcome depends on (memory.ts).
   */
  hugeFaultFallsBack?(vmf: VmFault, order: number): boolean;
  /** vm_ops->open(vma): a VMA was copied (fork) or split. */
  open?(vma: Vma): Thread<void>;
  /** vm_ops->close(vma). */
  close?(vma: Vma): Thread<void>;
  /** vm_ops->mapped(vma): a new, non-merged VMA is established; may fail the mmap (0 or -errno). */
  mapped?(vma: Vma): Thread<number>;
}

/**
 * include/linux/mm_types.h: struct vm_area_desc, what f_op->mmap_prepare sees and may change:
 * pgoff, vm_file (handing over a reference it holds), flags and page_prot; it sets vm_ops and
 * private_data. mm, file, start and end are fixed.
 */
export interface VmAreaDesc {
  readonly mm: Mm;
  readonly file: File;
  readonly start: number;
  readonly end: number;
  pgoff: number;
  vmFile: File;
  flags: number;
  /** Cache attribute of the mapping (pgprot): 'wb' normal, 'uc' noncached, 'wc' write-combining. */
  pageProt: PageProt;
  vmOps: VmOperations | undefined;
  privateData: unknown;
}

export type PageProt = 'wb' | 'uc' | 'wc';

/** What a VMA knows of its userfaultfd (fs/userfaultfd.c: struct userfaultfd_ctx; see userfaultfd.ts). */
export interface UffdCtxRef {
  readonly name: string;
}

export class Vma {
  constructor(
    readonly mm: Mm,
    public start: number,
    public end: number,
    public pgoff: number,
    public flags: number,
    public file: File | undefined,
    public ops: VmOperations | undefined,
    public privateData: unknown,
    public pageProt: PageProt,
  ) {}

  /** vm_userfaultfd_ctx: the userfaultfd registered on this VMA (with VM_UFFD_MISSING), if any. */
  uffd: UffdCtxRef | undefined = undefined;

  /** include/linux/mm.h: vma_is_anonymous() — no vm_ops (private anonymous memory). */
  get anonymous(): boolean {
    return this.ops === undefined && this.file === undefined;
  }

  get pages(): number {
    return (this.end - this.start) / PAGE_SIZE;
  }

  contains(addr: number): boolean {
    return addr >= this.start && addr < this.end;
  }

  describe(): string {
    const hex = (x: number): string => `0x${x.toString(16)}`;
    return `${hex(this.start)}-${hex(this.end)} pgoff ${hex(this.pgoff)} ${flagNames(this.flags)}${this.file ? ` ${this.file.name}` : ''}`;
  }
}

/** A leaf of the page table: what a CPU or GUP-fast walk finds. */
export interface Leaf {
  pfn: number;
  special: boolean;
  write: boolean;
}

export interface Translation extends Leaf {
  level: Level;
  /** Virtual address of the leaf's first page. */
  base: number;
  /**
   * A run of leaves (PageTable.leaves()): this many leaves of the level, each mapping the pfns
   * after the one before it. Absent: one leaf.
   */
  count?: number;
}
