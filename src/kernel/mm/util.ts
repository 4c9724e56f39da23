// mm/util.c pieces the model needs.

import type { Thread } from '../../sched/program.js';
import { type File, fput, getFile } from '../fs/file.js';
import type { Vma } from './mm_types.js';

// mm/util.c: vma_set_file() — "only valid to use during initial VMA setup": takes a reference on
// the new file, swaps it into vm_file and puts the old one. Nothing else: no i_mmap relink, so it is
// only safe before vma_link_file(), i.e. inside f_op->mmap.
export function* vmaSetFile(vma: Vma, file: File): Thread<void> {
  yield* getFile(file);
  const old = vma.file;
  vma.file = file;
  if (old) yield* fput(old);
}
