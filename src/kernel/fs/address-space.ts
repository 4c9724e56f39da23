// struct address_space's mapping of VMAs (include/linux/fs.h): the i_mmap interval tree, keyed by
// each VMA's page-offset range [vm_pgoff, vm_pgoff + pages - 1], and i_mmap_rwsem that protects it
// (mm/interval_tree.c: vma_interval_tree_*; include/linux/fs.h: i_mmap_lock_read/write).

import { RwSem } from '../../sched/rwsem.js';
import type { Vma } from '../mm/mm_types.js';

export class AddressSpace {
  /** i_mmap_rwsem: writers link and unlink VMAs, readers walk them (unmap_mapping_range). */
  readonly iMmapRwsem: RwSem;
  /** The VMAs linked into i_mmap. Plain data: only touched under iMmapRwsem. */
  private readonly vmas: Vma[] = [];

  constructor(readonly name: string) {
    this.iMmapRwsem = new RwSem(`${name}.i_mmap_rwsem`, { lockClass: 'i_mmap_rwsem' });
  }

  // mm/interval_tree.c: vma_interval_tree_insert()
  insert(vma: Vma): void {
    if (this.vmas.includes(vma)) throw new Error(`BUG: VMA ${vma.describe()} linked twice into ${this.name}`);
    this.vmas.push(vma);
  }

  // mm/interval_tree.c: vma_interval_tree_insert_after() — right after `prev` (fork's child VMA).
  insertAfter(vma: Vma, prev: Vma): void {
    const i = this.vmas.indexOf(prev);
    if (i < 0 || this.vmas.includes(vma))
      throw new Error(`BUG: bad insert_after of ${vma.describe()} into ${this.name}`);
    this.vmas.splice(i + 1, 0, vma);
  }

  /** Is the VMA linked here? (For invariants: plain data, no event.) */
  contains(vma: Vma): boolean {
    return this.vmas.includes(vma);
  }

  // mm/interval_tree.c: vma_interval_tree_remove()
  remove(vma: Vma): void {
    const i = this.vmas.indexOf(vma);
    if (i < 0) throw new Error(`BUG: VMA ${vma.describe()} is not linked into ${this.name}`);
    this.vmas.splice(i, 1);
  }

  // include/linux/mm.h: vma_interval_tree_foreach() — VMAs whose pgoff interval meets [first, last].
  *overlapping(first: number, last: number): Generator<Vma, void, unknown> {
    const hits = this.vmas
      .filter((v) => v.pgoff <= last && v.pgoff + v.pages - 1 >= first)
      .sort((a, b) => a.pgoff - b.pgoff || a.start - b.start);
    yield* hits;
  }

  /** Every linked VMA, without a lock: for invariants and tests. */
  get linked(): readonly Vma[] {
    return this.vmas;
  }
}
