// GUP_CONSISTENCY, checked over the whole system after every event that changed something: fast
// and slow GUP must give the same answer for every mapped address, and no page reference may have
// been taken through a pfnmap. The rules are written here from mm/gup.c's documented behaviour
// (docs/invariants/GUP_CONSISTENCY.md), not by calling the GUP code they check: the fast path
// decides from the leaf alone (its special bit, then the struct page behind the pfn), the slow path
// from the VMA first (check_vma_flags()) and then vm_normal_page().

import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from '../kernel/mm/arch.js';
import type { Mm } from '../kernel/mm/mm.js';
import { anyFlag, type Translation, VM_IO, VM_PFNMAP, type Vma } from '../kernel/mm/mm_types.js';
import type { System } from '../uapi/system.js';

type Raise = (id: 'GUP_CONSISTENCY', message: string) => void;

const LEVEL_BYTES = { pte: PAGE_SIZE, pmd: PMD_SIZE, pud: PUD_SIZE } as const;
const hex = (x: number): string => `0x${x.toString(16)}`;

/** What a GUP path returns for one address: a page (its pfn), or a refusal with the reason. */
type Answer = { page: number } | { refused: string };

/**
 * GUP-fast (gup_fast_pte_range(), gup_fast_pmd_leaf(), gup_fast_pud_leaf()) has no VMA: a special
 * leaf makes it fall back (and the fallback is the slow path, so it agrees by construction); any
 * other leaf is taken as a folio at pfn_to_page(pfn). `null`: nothing to compare — it falls back,
 * or the pfn has no struct page, where pfn_to_page() is garbage and the grab is memory corruption
 * (reported where a gup-fast call does it; HUGE_LEAF reports the unmarked huge leaf itself).
 */
function fastAnswer(sys: System, leaf: Translation, pfn: number): Answer | null {
  if (leaf.special) return null;
  if (!sys.machine.phys.pfnValid(pfn)) return null;
  return { page: pfn };
}

/**
 * Slow GUP (__get_user_pages()): no VMA is -EFAULT; check_vma_flags() refuses VM_IO | VM_PFNMAP
 * with -EFAULT before any page table is read; otherwise follow_page_mask() asks vm_normal_page(),
 * which has no page for a special entry or a pfn without a struct page.
 */
function slowAnswer(sys: System, vma: Vma | undefined, leaf: Translation, pfn: number): Answer {
  if (!vma) return { refused: 'no VMA' };
  if (anyFlag(vma.flags, VM_IO | VM_PFNMAP)) return { refused: 'VM_IO/VM_PFNMAP (check_vma_flags)' };
  if (leaf.special || !sys.machine.phys.pfnValid(pfn)) return { refused: 'no normal page' };
  return { page: pfn };
}

/**
 * Compares fast and slow GUP at one representative address per leaf run and VMA of an mm; false
 * once one disagrees (raised). A loop, not a generator: this runs after most events.
 */
function leavesAgree(sys: System, raise: Raise, mm: Mm): boolean {
  for (const run of mm.pt.leaves()) {
    const size = LEVEL_BYTES[run.level];
    const end = run.base + (run.count ?? 1) * size;
    let at = run.base;
    while (at < end) {
      const vma = mm.vmaLookup(at);
      if (!agree(sys, raise, mm, run, vma, run.pfn + (at - run.base) / PAGE_SIZE)) return false;
      // The next leaf of the run past this VMA (or, outside any VMA, at the next VMA's start).
      const stop = vma ? vma.end : (mm.vmas.find((v) => v.start > at)?.start ?? end);
      at = run.base + Math.max(1, Math.ceil((Math.min(end, stop) - run.base) / size)) * size;
      if (at <= run.base) break;
    }
  }
  return true;
}

/** Fast and slow GUP on the leaf's page pfn: false (raised) when they disagree. */
function agree(
  sys: System,
  raise: Raise,
  mm: Mm,
  leaf: Translation,
  vma: Vma | undefined,
  pfn: number,
): boolean {
  const fast = fastAnswer(sys, leaf, pfn);
  if (fast === null) return true;
  const slow = slowAnswer(sys, vma, leaf, pfn);
  if ('page' in fast && 'page' in slow && fast.page === slow.page) return true;
  const at = hex(leaf.base + (pfn - leaf.pfn) * PAGE_SIZE);
  const fastSays = 'page' in fast ? `takes page ${hex(fast.page)}` : `fails (${fast.refused})`;
  const slowSays = 'page' in slow ? `takes page ${hex(slow.page)}` : `fails with -EFAULT (${slow.refused})`;
  raise(
    'GUP_CONSISTENCY',
    `at ${at} in ${mm.name} (a ${leaf.level} leaf not marked special, pfn ${hex(pfn)}): gup-fast ${fastSays}, slow GUP ${slowSays}`,
  );
  return false;
}

export function checkGupConsistency(sys: System, raise: Raise): void {
  // 1. A reference on a BAR page. BAR memory is mapped only by VFIO's pfnmaps, which slow GUP
  //    refuses; a reference on one of its pages can only have come through a pfnmap leaf.
  for (const r of sys.machine.phys.ranges) {
    if (r.owner === undefined) continue;
    for (const [pfn, c] of r.counts.value) {
      if (c.refs + c.pins > 0) {
        raise(
          'GUP_CONSISTENCY',
          `page ${hex(pfn)} of ${r.owner} holds ${c.refs} reference(s) and ${c.pins} pin(s): BAR pages are mapped only through pfnmaps, which slow GUP refuses, so the reference was taken through a pfnmap`,
        );
        return;
      }
    }
  }
  // 2. Fast and slow GUP on the same address in this state.
  for (const p of sys.processes.values()) if (!leavesAgree(sys, raise, p.mm)) return;
}
