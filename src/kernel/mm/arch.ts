// Architecture profiles: page-table geometry and which levels can hold special pfnmap leaves.
//
// arch/x86/Kconfig and arch/arm64/Kconfig select ARCH_SUPPORTS_HUGE_PFNMAP; mm/Kconfig derives
// ARCH_SUPPORTS_PMD_PFNMAP and ARCH_SUPPORTS_PUD_PFNMAP from it and from
// HAVE_ARCH_TRANSPARENT_HUGEPAGE(_PUD) (mm/Kconfig; docs/mm.md, "Architecture profiles"). x86 marks special leaves with _PAGE_SPECIAL
// (software bit 9) at every level. arm64 has no PUD-level transparent huge pages, so no PUD pfnmaps.
// `x86_64-nospecial` is a kernel whose PMD/PUD have no special bit (an older kernel, or an arch
// without ARCH_SUPPORTS_*_PFNMAP): huge insertion still works, but pmd_special()/pud_special() are
// the include/linux/mm.h stubs that return false — the hazard of the seed thread (docs/mm.md, "GUP").

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PMD_ORDER = 9;
export const PUD_ORDER = 18;
export const PMD_SIZE = PAGE_SIZE * 2 ** PMD_ORDER;
export const PUD_SIZE = PAGE_SIZE * 2 ** PUD_ORDER;

export type ArchName = 'x86_64' | 'arm64' | 'x86_64-nospecial';
export const ARCH_NAMES: readonly ArchName[] = ['x86_64', 'arm64', 'x86_64-nospecial'];

export interface Arch {
  name: ArchName;
  /** HAVE_ARCH_TRANSPARENT_HUGEPAGE: the fault path tries PMD-order huge_fault. */
  thpPmd: boolean;
  /** HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD: the fault path tries PUD-order huge_fault. */
  thpPud: boolean;
  /** pte_special() works (ARCH_HAS_PTE_SPECIAL). */
  pteSpecial: boolean;
  /** pmd_special() works (ARCH_SUPPORTS_PMD_PFNMAP). */
  pmdSpecial: boolean;
  /** pud_special() works (ARCH_SUPPORTS_PUD_PFNMAP). */
  pudSpecial: boolean;
}

export const ARCHES: Record<ArchName, Arch> = {
  x86_64: {
    name: 'x86_64',
    thpPmd: true,
    thpPud: true,
    pteSpecial: true,
    pmdSpecial: true,
    pudSpecial: true,
  },
  arm64: {
    name: 'arm64',
    thpPmd: true,
    thpPud: false,
    pteSpecial: true,
    pmdSpecial: true,
    pudSpecial: false,
  },
  'x86_64-nospecial': {
    name: 'x86_64-nospecial',
    thpPmd: true,
    thpPud: true,
    pteSpecial: true,
    pmdSpecial: false,
    pudSpecial: false,
  },
};

/** Page-table levels, leaf sizes in pages. */
export type Level = 'pte' | 'pmd' | 'pud';
export const LEVEL_ORDER: Record<Level, number> = { pte: 0, pmd: PMD_ORDER, pud: PUD_ORDER };

export function specialAt(arch: Arch, level: Level): boolean {
  return level === 'pte' ? arch.pteSpecial : level === 'pmd' ? arch.pmdSpecial : arch.pudSpecial;
}

export const pfnOf = (addr: number): number => Math.floor(addr / PAGE_SIZE);
export const alignDown = (x: number, size: number): number => x - (x % size);
export const isAligned = (x: number, size: number): boolean => x % size === 0;
