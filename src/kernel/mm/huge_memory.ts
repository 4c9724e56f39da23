// Huge pfnmap leaves: insertion at PMD and PUD level and the THP policy that decides whether the
// fault path tries them (mm/huge_memory.c; docs/mm.md, "Faults").

import type { Thread } from '../../sched/program.js';
import { type Level, PMD_ORDER, PMD_SIZE, PUD_ORDER, PUD_SIZE, specialAt } from './arch.js';
import type { Mm } from './mm.js';
import {
  anyFlag,
  hasFlag,
  VM_FAULT_NOPAGE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_HUGEPAGE,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_SHARED,
  VM_WRITE,
  type Vma,
  type VmFault,
} from './mm_types.js';
import type { Table } from './pgtable.js';

/**
 * mm/huge_memory.c: __thp_vma_allowable_orders() for a page fault (TVA_PAGEFAULT), as it applies to
 * file-backed VM_PFNMAP/VM_MIXEDMAP VMAs (vma_is_special_huge): only PMD and PUD orders, none with
 * VM_NOHUGEPAGE, and for a non-anonymous VMA only when the global setting is `always`, or
 * `madvise` with VM_HUGEPAGE (MADV_HUGEPAGE) on the VMA. The arch must have THP at that level.
 * Anonymous VMAs get no huge order in the model: it stands for do_huge_pmd_anonymous_page() finding
 * no free huge page (VM_FAULT_FALLBACK, a path the kernel takes under fragmentation), so anonymous
 * memory is always mapped with PTEs.
 */
export function thpVmaAllowableOrder(mm: Mm, vma: Vma, order: number): boolean {
  const arch = mm.machine.arch;
  if (order === PUD_ORDER ? !arch.thpPud : order === PMD_ORDER ? !arch.thpPmd : true) return false;
  if (hasFlag(vma.flags, VM_NOHUGEPAGE)) return false;
  const thp = mm.machine.thp;
  if (thp === 'never') return false;
  if (thp === 'madvise' && !hasFlag(vma.flags, VM_HUGEPAGE)) return false;
  // Only then does it trust ->huge_fault(): a file VMA without one gets no huge order.
  return (
    vma.file !== undefined && anyFlag(vma.flags, VM_PFNMAP | VM_MIXEDMAP) && vma.ops?.hugeFault !== undefined
  );
}

/**
 * The BUG_ONs that open vmf_insert_pfn*() (mm/memory.c, mm/huge_memory.c): exactly one of
 * VM_PFNMAP and VM_MIXEDMAP, no COW VM_PFNMAP mapping, and no pfn with a struct page in a
 * VM_MIXEDMAP one.
 */
export function checkPfnInsert(vma: Vma, pfn: number, fn: string): void {
  const pfnmap = hasFlag(vma.flags, VM_PFNMAP);
  const mixed = hasFlag(vma.flags, VM_MIXEDMAP);
  if (pfnmap === mixed) {
    throw new Error(`BUG: ${fn}: the VMA must have exactly one of VM_PFNMAP and VM_MIXEDMAP`);
  }
  if (pfnmap && !hasFlag(vma.flags, VM_SHARED) && hasFlag(vma.flags, VM_WRITE)) {
    throw new Error(`BUG: ${fn}: COW VM_PFNMAP mapping`);
  }
  if (mixed && vma.mm.machine.phys.pfnValid(pfn)) {
    throw new Error(`BUG: ${fn}: VM_MIXEDMAP with a pfn that has a struct page`);
  }
}

// mm/huge_memory.c: vmf_insert_pfn_pmd() -> insert_pmd()
export function* vmfInsertPfnPmd(vmf: VmFault, pfn: number, _write: boolean): Thread<number> {
  const vma = vmf.vma;
  checkPfnInsert(vma, pfn, 'vmf_insert_pfn_pmd');
  const addr = vmf.address - (vmf.address % PMD_SIZE);
  // insert_pmd(): an address outside the VMA is SIGBUS.
  if (addr < vma.start || addr >= vma.end) return VM_FAULT_SIGBUS;
  const pt = vma.mm.pt;
  // insert_pmd() works on vmf->pmd, the entry __handle_mm_fault() already reached with pmd_alloc():
  // no second walk. (Called outside a fault, e.g. by a test's driver, the table may not exist yet.)
  const pmd = pt.hasPmdTable(addr) ? pt.pmdTable(addr) : yield* pt.pmdAlloc(addr);
  if (pmd === null) return VM_FAULT_OOM;
  yield* pmd.lock.lock();
  const idx = pmd.slot(addr);
  const cur = yield* pmd.read(idx);
  if (cur === undefined) {
    // pmd_mkspecial(pmd_mkhuge(pfn_pmd(pfn, prot))): special only where the arch has the bit.
    yield* insertLeaf(pmd, idx, vma, pfn, 'pmd');
  }
  // Otherwise an entry is there already (a leaf or a PTE table): left as it is, still NOPAGE. With
  // write = true the kernel would refresh a matching leaf; VFIO always passes write = false.
  yield* pmd.lock.unlock();
  return VM_FAULT_NOPAGE;
}

/**
 * The entry vmf_insert_pfn*() writes (mm/memory.c: insert_pfn(), mm/huge_memory.c: insert_pmd(),
 * insert_pud()): one leaf, special where the arch has the bit at that level, writable as the VMA
 * is (mkwrite is false for VFIO).
 */
export function insertLeaf(table: Table, idx: number, vma: Vma, pfn: number, level: Level): Thread<void> {
  return table.setLeaves(
    idx,
    idx + 1,
    pfn,
    specialAt(vma.mm.machine.arch, level),
    hasFlag(vma.flags, VM_WRITE),
  );
}

// mm/huge_memory.c: vmf_insert_pfn_pud() -> insert_pud()
export function* vmfInsertPfnPud(vmf: VmFault, pfn: number, _write: boolean): Thread<number> {
  const vma = vmf.vma;
  checkPfnInsert(vma, pfn, 'vmf_insert_pfn_pud');
  const addr = vmf.address - (vmf.address % PUD_SIZE);
  if (addr < vma.start || addr >= vma.end) return VM_FAULT_SIGBUS;
  const pud = vma.mm.pt.pud;
  yield* pud.lock.lock();
  const idx = pud.slot(addr);
  const cur = yield* pud.read(idx);
  if (cur === undefined) {
    yield* insertLeaf(pud, idx, vma, pfn, 'pud');
  }
  yield* pud.lock.unlock();
  return VM_FAULT_NOPAGE;
}
