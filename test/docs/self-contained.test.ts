// The project documents itself: no file of it sends a reader to documents outside the repository
// (the seed notes the project started from). Kernel facts are cited by kernel file and function,
// or by the project's own pages (docs/vfio-pci.md, docs/mm.md, docs/invariants/README.md, ...).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const self = 'test/docs/self-contained.test.ts';

/** Spelled in pieces, so that this file does not itself match. */
const FORBIDDEN = [
  ['KERNEL', '.md'].join(''),
  ['DESIGN', '.md'].join(''),
  ['..', '/shared'].join(''),
  // a bare section sign was a section of the outside notes
  String.fromCharCode(0xa7),
];

const TEXT = /\.(ts|mjs|js|md|ya?ml|json)$/;

function files(path: string): string[] {
  const abs = join(root, path);
  if (!statSync(abs).isDirectory()) return [path];
  return readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const rel = join(path, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'results' ? [] : files(rel);
    return TEXT.test(e.name) ? [rel] : [];
  });
}

describe('the repository is self-contained', () => {
  for (const top of ['README.md', 'docs', 'src', 'examples', 'bench', 'test']) {
    test(`${top} cites nothing outside the repository`, () => {
      const hits: string[] = [];
      for (const f of files(top)) {
        if (relative(root, join(root, f)) === self) continue;
        const lines = readFileSync(join(root, f), 'utf8').split('\n');
        lines.forEach((line, i) => {
          for (const w of FORBIDDEN) if (line.includes(w)) hits.push(`${f}:${i + 1}: ${w}`);
        });
      }
      assert.deepEqual(hits, []);
    });
  }
});
