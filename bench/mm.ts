// npm run bench, mm section: faults needed to populate a 1 GiB BAR mapping, per arch profile and
// alignment, and the explorer events each fault costs.

import { Machine } from '../src/kernel/machine.js';
import { type ArchName, PAGE_SIZE } from '../src/kernel/mm/arch.js';
import { cpuAccess } from '../src/kernel/mm/memory.js';
import { Mm } from '../src/kernel/mm/mm.js';
import { doMmap } from '../src/kernel/mm/mmap.js';
import { explore } from '../src/sched/index.js';
import { pfnmapFile } from '../test/kernel/mm/helpers/pfnmap-driver.js';

const GiB = 2 ** 30;
const VA = 0x7f0000000000;
const PHYS = 0x3800000000;

interface Row {
  arch: ArchName;
  alignment: string;
  faults: number;
  leaves: string;
  events: number;
  ms: number;
}

function populate(arch: ArchName, alignment: { name: string; va: number; phys: number }): Row {
  let faults = 0;
  let leaves = '';
  const t0 = process.hrtime.bigint();
  const r = explore(
    {
      setup: () => {
        const machine = new Machine(arch, 'always');
        machine.phys.add({ pfn: alignment.phys / PAGE_SIZE, pages: (2 * GiB) / PAGE_SIZE, kind: 'mmio' });
        const file = pfnmapFile('bar', {
          basePfn: alignment.phys / PAGE_SIZE,
          pages: (2 * GiB) / PAGE_SIZE,
          huge: true,
        });
        return { machine, mm: new Mm(machine, 'mm0'), file };
      },
      threads: {
        cpu: function* (s) {
          yield* doMmap(s.mm, { file: s.file, len: GiB, offset: 0, at: alignment.va });
          // Touch every page that no leaf maps yet (a plain look, not an access), so each access
          // here is one that faults.
          for (let a = alignment.va; a < alignment.va + GiB; a += PAGE_SIZE) {
            if (s.mm.pt.lookup(a) === null) yield* cpuAccess(s.mm, a, false, 'cpu', () => faults++);
          }
        },
      },
      final: (s) => {
        const byLevel = new Map<string, number>();
        for (const l of s.mm.pt.leaves()) byLevel.set(l.level, (byLevel.get(l.level) ?? 0) + 1);
        leaves = [...byLevel].map(([k, v]) => `${v} ${k}`).join(', ');
      },
    },
    { strategy: 'exhaustive', maxSteps: 50_000_000, minimizePreemptions: false },
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { arch, alignment: alignment.name, faults, leaves, events: r.events, ms };
}

export function mmBench(): string[] {
  const alignments = [
    { name: 'VA and pfn 1 GiB-aligned', va: VA, phys: PHYS },
    { name: 'VA 2 MiB-aligned only', va: VA + 2 * 2 ** 20, phys: PHYS },
    { name: 'VA 4 KiB off', va: VA + PAGE_SIZE, phys: PHYS },
  ];
  const rows: Row[] = [];
  for (const arch of ['x86_64', 'arm64', 'x86_64-nospecial'] as ArchName[]) {
    for (const a of alignments) rows.push(populate(arch, a));
  }
  const header = ['arch', 'alignment', 'faults', 'leaves', 'events', 'events/fault', 'ms'];
  // events/fault counts the whole access: the walk that misses, the fault, and the walk that hits.
  const cells = rows.map((r) => [
    r.arch,
    r.alignment,
    r.faults.toLocaleString('en-US'),
    r.leaves,
    r.events.toLocaleString('en-US'),
    (r.events / r.faults).toFixed(1),
    r.ms.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i < 2 || i === 3 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  return [
    'faults to populate a 1 GiB BAR mapping (touching each page no leaf maps yet; THP always; one thread):',
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...cells.map(line),
  ];
}
