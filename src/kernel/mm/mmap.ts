// mmap(2) down to __mmap_region(): mm/util.c: vm_mmap_pgoff() takes mmap_lock for write and calls
// mm/mmap.c: do_mmap(), which checks the request, turns prot and flags into VM_* flags, picks the
// address and calls mmap_region().

import type { Thread } from '../../sched/program.js';
import { type File, taskWorkRun } from '../fs/file.js';
import { PAGE_SIZE } from './arch.js';
import type { Mm } from './mm.js';
import { setFlags, VM_MAYSHARE, VM_READ, VM_SHARED, VM_WRITE, type Vma } from './mm_types.js';
import { type MmapFailure, mmapRegion } from './vma.js';

export const EINVAL = -22;
export const ENODEV = -19;
export const ENOMEM = -12;

/**
 * Where mappings go when the caller gives no address: above this, the lowest page-aligned gap.
 * It is deliberately not 2 MiB-aligned: like the kernel's get_unmapped_area() for a device file
 * without a get_unmapped_area hook, the model promises no huge alignment; callers that want PMD or
 * PUD leaves choose an aligned address (MAP_FIXED), as QEMU has done for BAR mmaps since 9.2.
 */
export const MMAP_BASE = 0x7f0000001000;

export interface MmapRequest {
  file: File;
  len: number;
  /** File offset in bytes (page aligned). */
  offset: number;
  read?: boolean;
  write?: boolean;
  /** MAP_SHARED (default) or MAP_PRIVATE. */
  shared?: boolean;
  /** MAP_FIXED at this address. */
  at?: number;
  /** Test hook: make a step of __mmap_region() fail. */
  inject?: MmapFailure;
}

// mm/mmap.c: get_unmapped_area() for a file without a hook: the lowest gap at or above MMAP_BASE.
export function unmappedArea(mm: Mm, len: number): number {
  let addr = MMAP_BASE;
  for (const v of mm.vmas) {
    if (v.end <= addr) continue;
    if (v.start >= addr + len) break;
    addr = v.end;
  }
  return addr;
}

// mm/util.c: vm_mmap_pgoff() -> mm/mmap.c: do_mmap()
export function* doMmap(mm: Mm, req: MmapRequest): Thread<Vma | number> {
  if (req.len <= 0 || req.offset % PAGE_SIZE !== 0) return EINVAL;
  if (req.at !== undefined && req.at % PAGE_SIZE !== 0) return EINVAL;
  if (!req.file.fop.mmap && !req.file.fop.mmapPrepare) return ENODEV;
  const len = Math.ceil(req.len / PAGE_SIZE) * PAGE_SIZE;
  let flags = 0;
  if (req.read ?? true) flags = setFlags(flags, VM_READ);
  if (req.write ?? true) flags = setFlags(flags, VM_WRITE);
  if (req.shared ?? true) flags = setFlags(flags, VM_SHARED | VM_MAYSHARE);
  yield* mm.mmapLock.downWrite();
  const addr = req.at ?? unmappedArea(mm, len);
  const r = yield* mmapRegion(mm, {
    file: req.file,
    addr,
    len,
    pgoff: req.offset / PAGE_SIZE,
    flags,
    ...(req.inject ? { inject: req.inject } : {}),
  });
  yield* mm.mmapLock.upWrite();
  yield* taskWorkRun();
  return r;
}
