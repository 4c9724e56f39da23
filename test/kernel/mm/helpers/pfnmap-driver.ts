// A minimal pfnmap driver for testing mm on its own: its mmap maps a physical range like a PCI BAR
// (VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP, no PTEs at mmap time), and its fault handlers
// insert pfn = base + pgoff, with the alignment rules of VFIO's huge_fault (drivers/vfio/pci/vfio_pci_core.c: vfio_pci_mmap_huge_fault()): a
// huge leaf only for a block wholly inside the VMA with an aligned pfn, else FALLBACK.

import { type File, Inode, File as KFile } from '../../../../src/kernel/fs/file.js';
import { PAGE_SIZE, PMD_ORDER, PUD_ORDER } from '../../../../src/kernel/mm/arch.js';
import { vmfInsertPfnPmd, vmfInsertPfnPud } from '../../../../src/kernel/mm/huge_memory.js';
import { vmfInsertPfn } from '../../../../src/kernel/mm/memory.js';
import {
  setFlags,
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_FAULT_FALLBACK,
  VM_FAULT_SIGBUS,
  VM_IO,
  VM_PFNMAP,
  VM_SHARED,
  type Vma,
  type VmFault,
  type VmOperations,
} from '../../../../src/kernel/mm/mm_types.js';
import type { Thread } from '../../../../src/sched/program.js';

export interface PfnmapDriverOptions {
  /** First pfn of the region; pgoff 0 maps it. */
  basePfn: number;
  /** Region size in pages (mmap beyond it fails). */
  pages: number;
  /** Install huge_fault. */
  huge?: boolean;
  /** Counts what the handlers did (plain data). */
  log?: string[];
}

export function pfnmapVmOps(o: PfnmapDriverOptions): VmOperations {
  const insert = function* (vmf: VmFault, order: number): Thread<number> {
    const size = PAGE_SIZE * 2 ** order;
    const addr = vmf.realAddress - (vmf.realAddress % size);
    const pfn = o.basePfn + vmf.vma.pgoff + (addr - vmf.vma.start) / PAGE_SIZE;
    if (order > 0 && (addr < vmf.vma.start || addr + size > vmf.vma.end || pfn % 2 ** order !== 0)) {
      o.log?.push(`fallback ${order}`);
      return VM_FAULT_FALLBACK;
    }
    o.log?.push(`insert ${order} 0x${addr.toString(16)}`);
    if (order === 0) return yield* vmfInsertPfn(vmf.vma, vmf.address, pfn);
    if (order === PMD_ORDER) return yield* vmfInsertPfnPmd(vmf, pfn, false);
    if (order === PUD_ORDER) return yield* vmfInsertPfnPud(vmf, pfn, false);
    return VM_FAULT_FALLBACK;
  };
  return {
    name: 'pfnmap_test_ops',
    fault: (vmf) => insert(vmf, 0),
    ...(o.huge ? { hugeFault: (vmf: VmFault, order: number) => insert(vmf, order) } : {}),
  };
}

export function pfnmapFile(name: string, o: PfnmapDriverOptions): File {
  const ops = pfnmapVmOps(o);
  return new KFile(name, new Inode(name), {
    name: 'pfnmap_test_fops',
    *mmap(_file: File, vma: Vma): Thread<number> {
      if (!(vma.flags & VM_SHARED)) return -22;
      if (vma.pgoff + vma.pages > o.pages) return -22;
      vma.flags = setFlags(vma.flags, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
      vma.pageProt = 'uc';
      vma.ops = ops;
      return 0;
    },
  });
}

export { VM_FAULT_SIGBUS };
