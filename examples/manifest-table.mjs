// Usage: node examples/manifest-table.mjs — rewrites the "Design × verdict" table of
// docs/examples.md from examples/manifest.json (run it after generate-manifest.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const m = JSON.parse(readFileSync(join(root, 'examples/manifest.json'), 'utf8'));
const SHORT = {
  MMIO_WHILE_DISABLED: 'MWD',
  MAPPING_AFTER_REVOKE: 'MAR',
  DMA_AFTER_REVOKE: 'DAR',
  HUGE_LEAF: 'HL',
  ZAP_COVERAGE: 'ZC',
  USE_AFTER_FREE: 'UAF',
  EXPECT: 'EXP',
  DEADLOCK: 'DL',
  LOCK_ORDER: 'LO',
  ERROR: 'ERR',
  TRANSLATION: 'TR',
  ISOLATION: 'ISO',
  GUP_CONSISTENCY: 'GUP',
  REFCOUNT: 'RC',
  SPURIOUS_FAULT: 'SF',
};
const cell = (r, own) => {
  if (!r) return '';
  const ids = r.violations.length
    ? r.violations
        .map((v) => SHORT[v] ?? v)
        .sort()
        .join(' ')
    : '—';
  const s = `${r.verdict === 'pass' ? 'P' : 'F'} ${ids}${r.complete ? '' : '\\*'}`;
  return own ? `**${s}**` : s;
};
const designs = m.designs;
const lines = [
  `| example | own, with options | ${designs.join(' | ')} |`,
  `| --- | --- | ${designs.map(() => '---').join(' | ')} |`,
];
for (const [file, e] of Object.entries(m.examples)) {
  const name = file.replace(/\.yaml$/, '');
  const hasOwn = e.own !== undefined;
  lines.push(
    `| ${name} | ${hasOwn ? cell(e.own, true) : ''} | ${designs.map((d) => cell(e.results[d], !hasOwn && d === e.design)).join(' | ')} |`,
  );
}
const doc = join(root, 'docs/examples.md');
const text = readFileSync(doc, 'utf8');
const start = text.indexOf('| example | own, with options |');
const end = text.indexOf('\n\n', start);
if (start < 0 || end < 0) throw new Error('docs/examples.md: the Design × verdict table was not found');
writeFileSync(doc, `${text.slice(0, start)}${lines.join('\n')}${text.slice(end)}`);
console.log(`wrote the table for ${Object.keys(m.examples).length} examples into docs/examples.md`);
