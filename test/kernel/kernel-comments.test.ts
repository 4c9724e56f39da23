// Every kernel path of the model names its kernel counterpart: each generator function in
// src/kernel (exported or not) has, as the first line of the comment right above it, either
// `path/to/file.c: function_name(` (optionally `path (qualifier): name(`, e.g. the releases it is
// from) or `model-only: ` followed by what it stands for. Nothing else is accepted.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const KERNEL = join(ROOT, 'src/kernel');

/** `// drivers/vfio/pci/vfio_pci_core.c: vfio_pci_core_mmap()`, in a line or JSDoc comment. */
const KERNEL_REF = /^\s*(?:\/\/|\/\*\*|\*)\s*[\w./-]+\.(?:c|h|S|rs)(?: \([^)]*\))?: \w+\(/;
/** `// model-only: what it stands for` */
const MODEL_ONLY = /^\s*(?:\/\/|\/\*\*|\*)\s*model-only: \S/;
const GENERATOR = /^(?:export )?function\*\s*(\w+)/;
const COMMENT = /^\s*(?:\/\/|\/\*\*|\*|\*\/)/;

/** The first text line of the comment block right above line `i` ('' if there is none). */
export function commentAbove(lines: string[], i: number): string {
  let j = i - 1;
  const block: string[] = [];
  while (j >= 0 && COMMENT.test(lines[j]!)) block.unshift(lines[j--]!);
  return block.find((l) => !/^\s*(?:\/\*\*|\*\/)\s*$/.test(l)) ?? '';
}

export const accepted = (first: string): boolean => KERNEL_REF.test(first) || MODEL_ONLY.test(first);

/** Every generator function of a source text without an accepted comment: `name | first line`. */
export function missing(src: string): string[] {
  const lines = src.split('\n');
  const out: string[] = [];
  lines.forEach((l, i) => {
    const m = GENERATOR.exec(l);
    if (!m) return;
    const first = commentAbove(lines, i);
    if (!accepted(first)) out.push(`${m[1]} | ${first.trim() || '(no comment)'}`);
  });
  return out;
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('kernel comments', () => {
  test('the matcher: kernel references and model-only, nothing else', () => {
    assert.deepEqual(
      missing(
        [
          '// mm/memory.c: remap_pfn_range()',
          'function* a() {}',
          '/**',
          ' * drivers/vfio/pci/vfio_pci_core.c (v6.10 and v6.11): vfio_pci_mmap_fault() — more',
          ' */',
          'export function* b() {}',
          '// model-only: the importer driver',
          'function* c() {}',
          '/** drivers/dma-buf/dma-resv.c: dma_resv_wait_timeout(usage, no timeout) */',
          'function* d() {}',
          '/** One event: map iova pages. */',
          'export function* e() {}',
          'export function* f() {}',
          '// model only: spelled otherwise',
          'function* g() {}',
          '// vfio_pm_config_write() without a path',
          'function* h() {}',
          'export function notAGenerator() {}',
        ].join('\n'),
      ),
      [
        'e | /** One event: map iova pages. */',
        'f | (no comment)',
        'g | // model only: spelled otherwise',
        'h | // vfio_pm_config_write() without a path',
      ],
    );
  });

  test('every generator function in src/kernel names its kernel counterpart or says model-only', () => {
    const bad: string[] = [];
    for (const f of sources(KERNEL)) {
      for (const m of missing(readFileSync(f, 'utf8'))) bad.push(`${relative(ROOT, f)}: ${m}`);
    }
    assert.deepEqual(bad, []);
  });
});
