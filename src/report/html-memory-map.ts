// The HTML report's memory map: an inline SVG of a run record's final memory state. Three columns:
// on the left each process and its VMAs, in the middle each VMA's page-table leaves merged into
// runs (one box per run of leaves of one level contiguous in both virtual and physical address, so
// a 1 GiB mapping of 4 KiB PTEs is one box, not 262144), on the right the physical side: each
// device's BARs drawn as address strips with their dma-buf ranges on them. A line goes from every
// run to the part of the strip it maps. Leaves cleared during the run (`memory.zapped`) are drawn
// dashed and red.

import {
  escapeHtml,
  formatBytes,
  formatCount,
  hex,
  num,
  SVG_CHAR_W,
  SVG_FONT,
  svgText,
  truncate,
} from './html-text.js';
import type { LeafView, MemoryMap, VmaView } from './record.js';

const PAGE_SIZE = 4096;
const LEVEL_ORDER: Record<LeafView['level'], number> = { pud: 0, pmd: 1, pte: 2 };
const LEVEL_COLOR: Record<LeafView['level'], string> = { pud: '#7048e8', pmd: '#1c7ed6', pte: '#0c8599' };
const LEVEL_FILL: Record<LeafView['level'], string> = { pud: '#f3f0ff', pmd: '#e7f5ff', pte: '#e3fafc' };
const ZAPPED = '#e03131';
const DMABUF_COLORS = ['#2f9e44', '#e8590c', '#c2255c', '#5f3dc4', '#1098ad', '#f08c00'];

/** Leaves of one level, contiguous in virtual and in physical address, merged into one box. */
export interface LeafRun {
  level: LeafView['level'];
  /** First byte mapped and the byte after the last. */
  va: number;
  end: number;
  /** First pfn; the run maps (end - va) bytes from it. */
  pfn: number;
  /** Leaves merged. */
  count: number;
  /** Bytes each leaf maps. */
  leafSize: number;
  /** Cleared during the run (from `memory.zapped`). */
  zapped: boolean;
  /** For zapped runs: the first and last `after` (events run when a leaf of the run was cleared). */
  after?: [number, number];
}

type Leaf = LeafView & { after?: number };

const leafOrder = (a: Leaf, b: Leaf) =>
  LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || a.va - b.va || a.pfn - b.pfn || a.size - b.size;

/**
 * Merges leaves into runs: sorted by level and address, a leaf joins the run before it when it has
 * the same level and size and continues it both virtually and physically. Zapped leaves cleared
 * more than once (faulted back in and zapped again) count once, with the range of `after`s.
 */
export function leafRuns(leaves: readonly Leaf[], zapped = false): LeafRun[] {
  let sorted = leaves;
  for (let i = 1; i < leaves.length; i++) {
    if (leafOrder(leaves[i - 1]!, leaves[i]!) > 0) {
      sorted = [...leaves].sort(leafOrder);
      break;
    }
  }
  const runs: LeafRun[] = [];
  let last: LeafRun | undefined;
  for (const l of sorted) {
    const n = l.count ?? 1;
    const same = last !== undefined && last.level === l.level && last.leafSize === l.size;
    const lastPfn = last ? last.pfn + (last.end - last.va - last.leafSize) / PAGE_SIZE : 0;
    const repeat = same && n === 1 && last!.end - last!.leafSize === l.va && lastPfn === l.pfn;
    const next = same && last!.end === l.va && lastPfn + last!.leafSize / PAGE_SIZE === l.pfn;
    if (last && (repeat || next)) {
      if (next) {
        last.end += l.size * n;
        last.count += n;
      }
      if (zapped && l.after !== undefined) {
        last.after = last.after
          ? [Math.min(last.after[0], l.after), Math.max(last.after[1], l.after)]
          : [l.after, l.after];
      }
      continue;
    }
    last = {
      level: l.level,
      va: l.va,
      end: l.va + l.size * n,
      pfn: l.pfn,
      count: n,
      leafSize: l.size,
      zapped,
    };
    if (zapped && l.after !== undefined) last.after = [l.after, l.after];
    runs.push(last);
  }
  return runs;
}

// Layout, in pixels.
const PAD = 16;
const LEGEND_H = 34;
const HEAD_H = 26;
const VMA_X = PAD;
const VMA_W = 290;
const VMA_H = 58;
const RUN_X = VMA_X + VMA_W + 30;
const RUN_W = 340;
const RUN_H = 34;
const RUN_GAP = 6;
const PHYS_X = RUN_X + RUN_W + 150;
const PHYS_W = 420;
/** Inside a device box: the column where lines end (ticks), then the BAR's address strip. */
const TICK_X = PHYS_X + 10;
const TICK_W = 6;
const STRIP_X = TICK_X + TICK_W + 3;
const STRIP_W = 16;
const PHYS_TEXT_X = STRIP_X + STRIP_W + 10;
const PHYS_TEXT_W = PHYS_X + PHYS_W - PHYS_TEXT_X - 10;
const WIDTH = PHYS_X + PHYS_W + PAD;
const MAX_RUNS_PER_VMA = 24;
const LINE = 15;
/** Every address range on a strip gets at least this many pixels, however small it is. */
const MIN_SEG = 6;
const STRIP_H = 60;

interface VmaBlock {
  title: string;
  vma?: VmaView;
  runs: LeafRun[];
}

interface ProcessBlock {
  name: string;
  note?: string;
  vmas: VmaBlock[];
}

/** Processes with their VMAs and runs; zapped leaves go under the VMA that holds their address. */
function blocks(map: MemoryMap): ProcessBlock[] {
  const out: ProcessBlock[] = map.processes.map((p) => ({
    name: p.name,
    vmas: p.vmas.map((vma) => ({ title: '', vma, runs: leafRuns(vma.leaves) })),
  }));
  const byProcess = new Map<string, (LeafView & { after: number })[]>();
  for (const z of map.zapped) {
    const list = byProcess.get(z.process) ?? [];
    list.push(z);
    byProcess.set(z.process, list);
  }
  for (const [name, zapped] of byProcess) {
    let proc = out.find((p) => p.name === name);
    if (!proc) {
      proc = { name, note: 'not in the final map', vmas: [] };
      out.push(proc);
    }
    const orphans: (LeafView & { after: number })[] = [];
    const perVma = new Map<VmaBlock, (LeafView & { after: number })[]>();
    for (const z of zapped) {
      const block = proc.vmas.find((b) => b.vma && z.va >= b.vma.start && z.va < b.vma.end);
      if (!block) orphans.push(z);
      else if (perVma.has(block)) perVma.get(block)!.push(z);
      else perVma.set(block, [z]);
    }
    for (const [block, list] of perVma) {
      block.runs = [...block.runs, ...leafRuns(list, true)].sort(
        (a, b) =>
          LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || a.va - b.va || Number(a.zapped) - Number(b.zapped),
      );
    }
    if (orphans.length > 0) proc.vmas.push({ title: 'no VMA now (unmapped)', runs: leafRuns(orphans, true) });
  }
  return out;
}

/**
 * A physical address strip. Its scale is piecewise linear: the addresses where something starts or
 * ends cut the strip into segments, each drawn at least MIN_SEG tall plus its share of STRIP_H by
 * size, so a 4 KiB page next to a 1 GiB BAR is still visible and the order of addresses is kept.
 */
interface Strip {
  lo: number;
  hi: number;
  /** Breakpoints (address, y), increasing. */
  stops: { addr: number; y: number }[];
}

function makeStrip(top: number, lo: number, hi: number, cuts: number[]): Strip {
  const points = [...new Set([lo, hi, ...cuts.filter((a) => a > lo && a < hi)])].sort((a, b) => a - b);
  const total = Math.max(1, hi - lo);
  const stops = [{ addr: points[0]!, y: top }];
  for (let i = 1; i < points.length; i++) {
    const len = points[i]! - points[i - 1]!;
    stops.push({ addr: points[i]!, y: stops[i - 1]!.y + MIN_SEG + (STRIP_H * len) / total });
  }
  return { lo, hi, stops };
}

function stripTop(s: Strip): number {
  return s.stops[0]!.y;
}

function stripBottom(s: Strip): number {
  return s.stops[s.stops.length - 1]!.y;
}

function addrY(s: Strip, addr: number): number {
  const a = Math.min(s.hi, Math.max(s.lo, addr));
  for (let i = 1; i < s.stops.length; i++) {
    const p = s.stops[i - 1]!;
    const q = s.stops[i]!;
    if (a <= q.addr) return p.y + ((q.y - p.y) * (a - p.addr)) / Math.max(1, q.addr - p.addr);
  }
  return stripBottom(s);
}

/** The physical bytes a run maps. */
function physRange(r: LeafRun): [number, number] {
  return [r.pfn * PAGE_SIZE, r.pfn * PAGE_SIZE + (r.end - r.va)];
}

function runLabel(r: LeafRun): [string, string] {
  const first = `${r.level.toUpperCase()} ×${formatCount(r.count)}  ${hex(r.va)}–${hex(r.end)}`;
  const pages = (r.end - r.va) / PAGE_SIZE;
  const pfns = pages === 1 ? `pfn ${hex(r.pfn)}` : `pfn ${hex(r.pfn)}–${hex(r.pfn + pages - 1)}`;
  const when = r.after ? ` · zapped @${r.after[0]}${r.after[1] !== r.after[0] ? `–${r.after[1]}` : ''}` : '';
  return [first, `${pfns} · ${formatBytes(r.end - r.va)}${when}`];
}

/** The memory map as one inline <svg> element. */
export function renderMemoryMapSvg(map: MemoryMap): string {
  const back: string[] = [];
  const front: string[] = [];
  const lines: string[] = [];
  const top = LEGEND_H + HEAD_H + 8;
  const procs = blocks(map);
  const shown = new Map<VmaBlock, LeafRun[]>();
  for (const p of procs) for (const b of p.vmas) shown.set(b, b.runs.slice(0, MAX_RUNS_PER_VMA));
  const ranges = [...shown.values()].flat().map(physRange);

  // Physical column first: the strips decide where the lines from the runs end.
  const strips: Strip[] = [];
  let py = top;
  const dmabufColor = new Map<object, string>();
  for (const dev of map.devices) {
    for (const d of dev.dmabufs) dmabufColor.set(d, DMABUF_COLORS[dmabufColor.size % DMABUF_COLORS.length]!);
  }
  if (map.devices.length === 0) {
    front.push(svgText(PHYS_X, py + 14, 'no devices', { cls: 'mm-muted' }));
    py += 30;
  }
  for (const dev of map.devices) {
    const devTop = py;
    const behind = back.length; // the device's box goes under its BARs
    front.push(svgText(PHYS_X + 10, py + 16, `device ${dev.name}`, { cls: 'mm-strong', width: PHYS_W - 20 }));
    front.push(svgText(PHYS_X + 10, py + 31, dev.state, { cls: 'mm-muted', width: PHYS_W - 20 }));
    py += 40;
    const placed = new Set<object>();
    for (const bar of dev.bars) {
      const lo = bar.phys;
      const hi = bar.phys + bar.size;
      const inBar = dev.dmabufs
        .map((d) => ({ d, ranges: d.ranges.filter((r) => r.paddr >= lo && r.paddr < hi) }))
        .filter((x) => x.ranges.length > 0);
      const cuts = [
        ...ranges,
        ...inBar.flatMap((x) => x.ranges.map((r) => [r.paddr, r.paddr + r.len])),
      ].flat();
      const strip = makeStrip(py + 6, lo, hi, cuts);
      strips.push(strip);
      const h = Math.max(14 + (2 + inBar.length) * LINE + 8, stripBottom(strip) - py + 6);
      back.push(
        `<rect x="${PHYS_X + 6}" y="${py}" width="${PHYS_W - 12}" height="${num(h)}" rx="4" class="mm-bar"/>`,
        `<rect x="${STRIP_X}" y="${num(stripTop(strip))}" width="${STRIP_W}" height="${num(stripBottom(strip) - stripTop(strip))}" class="mm-strip"/>`,
      );
      front.push(
        svgText(PHYS_TEXT_X, py + 16, `BAR${bar.index}  ${hex(lo)}–${hex(hi)}`, { width: PHYS_TEXT_W }),
        svgText(
          PHYS_TEXT_X,
          py + 16 + LINE,
          `${formatBytes(bar.size)} · ${bar.structPages ? 'struct pages' : 'no struct pages (pfnmap)'}`,
          { cls: 'mm-muted', width: PHYS_TEXT_W },
        ),
      );
      inBar.forEach(({ d, ranges: rs }, i) => {
        placed.add(d);
        const color = dmabufColor.get(d)!;
        const revoked = /revok/i.test(d.state);
        const fill = revoked ? 'url(#mm-hatch)' : color;
        for (const r of rs) {
          const y0 = addrY(strip, r.paddr);
          const y1 = Math.max(y0 + 3, addrY(strip, r.paddr + r.len));
          const tip = `dma-buf ${d.name} ${hex(r.paddr)}–${hex(r.paddr + r.len)} (${d.state})`;
          front.push(
            `<rect x="${STRIP_X}" y="${num(y0)}" width="${STRIP_W}" height="${num(y1 - y0)}" fill="${fill}" stroke="${color}"><title>${escapeHtml(tip)}</title></rect>`,
          );
        }
        const ly = py + 16 + LINE * (2 + i);
        front.push(
          `<rect x="${PHYS_TEXT_X}" y="${ly - 9}" width="10" height="10" fill="${fill}" stroke="${color}"/>`,
          svgText(
            PHYS_TEXT_X + 16,
            ly,
            `dma-buf ${d.name}: ${d.state} · ${rs.length} range${rs.length === 1 ? '' : 's'}`,
            { width: PHYS_TEXT_W - 16, cls: revoked ? 'mm-revoked' : '' },
          ),
        );
      });
      py += h + 6;
    }
    for (const d of dev.dmabufs.filter((x) => !placed.has(x))) {
      const rs = d.ranges.map((r) => `${hex(r.paddr)}+${hex(r.len)}`).join(', ') || 'no ranges';
      front.push(
        svgText(PHYS_X + 10, py + 12, `dma-buf ${d.name}: ${d.state} · ${rs}`, {
          cls: 'mm-muted',
          width: PHYS_W - 20,
        }),
      );
      py += LINE + 2;
    }
    if (dev.bars.length === 0) {
      front.push(svgText(PHYS_X + 10, py + 12, 'no BARs', { cls: 'mm-muted' }));
      py += LINE + 2;
    }
    back.splice(
      behind,
      0,
      `<rect x="${PHYS_X}" y="${devTop}" width="${PHYS_W}" height="${num(py - devTop + 4)}" rx="6" class="mm-dev"/>`,
    );
    py += 16;
  }

  // Physical memory outside every BAR (RAM, MMIO of no device shown): one strip over what is mapped.
  const outside = ranges.filter(([lo]) => !strips.some((s) => lo >= s.lo && lo < s.hi));
  if (outside.length > 0) {
    const lo = outside.reduce((m, r) => Math.min(m, r[0]), Number.POSITIVE_INFINITY);
    const hi = outside.reduce((m, r) => Math.max(m, r[1]), 0);
    const strip = makeStrip(py + 6, lo, hi, outside.flat());
    strips.push(strip);
    const h = Math.max(2 * LINE + 20, stripBottom(strip) - py + 6);
    back.push(
      `<rect x="${PHYS_X}" y="${py}" width="${PHYS_W}" height="${num(h)}" rx="6" class="mm-dev"/>`,
      `<rect x="${STRIP_X}" y="${num(stripTop(strip))}" width="${STRIP_W}" height="${num(stripBottom(strip) - stripTop(strip))}" class="mm-strip mm-ram"/>`,
    );
    front.push(
      svgText(PHYS_TEXT_X, py + 16, 'outside every BAR (RAM or other memory)', {
        cls: 'mm-strong',
        width: PHYS_TEXT_W,
      }),
      svgText(PHYS_TEXT_X, py + 16 + LINE, `${hex(lo)}–${hex(hi)}`, { width: PHYS_TEXT_W }),
    );
    py += h + 16;
  }

  // Left and middle columns: processes, VMAs, runs; each run gets its line to the strip.
  let ly = top;
  if (procs.length === 0) {
    front.push(svgText(VMA_X, ly + 14, 'no processes', { cls: 'mm-muted' }));
    ly += 30;
  }
  for (const p of procs) {
    const vmaCount = p.vmas.filter((v) => v.vma).length;
    const note = p.note ? ` (${p.note})` : '';
    front.push(
      svgText(VMA_X, ly + 14, `process ${p.name}${note} · ${vmaCount} VMA${vmaCount === 1 ? '' : 's'}`, {
        cls: 'mm-strong',
        width: VMA_W + RUN_W,
      }),
    );
    ly += 22;
    if (p.vmas.length === 0) {
      front.push(svgText(VMA_X + 10, ly + 12, 'no VMAs', { cls: 'mm-muted' }));
      ly += 22;
    }
    for (const b of p.vmas) {
      const runs = shown.get(b)!;
      const more = b.runs.length - runs.length;
      const runsH = runs.length * (RUN_H + RUN_GAP) - RUN_GAP + (more > 0 ? LINE + 4 : 0);
      const h = Math.max(VMA_H, runsH);
      const tw = VMA_W - 20;
      if (b.vma) {
        const v = b.vma;
        back.push(`<rect x="${VMA_X}" y="${ly}" width="${VMA_W}" height="${h}" rx="4" class="mm-vma"/>`);
        front.push(
          svgText(VMA_X + 10, ly + 16, `${hex(v.start)}–${hex(v.end)} · ${formatBytes(v.end - v.start)}`, {
            width: tw,
          }),
          svgText(VMA_X + 10, ly + 16 + LINE, v.flags, { cls: 'mm-muted', width: tw }),
          svgText(VMA_X + 10, ly + 16 + 2 * LINE, `${v.file} @${hex(v.offset)}`, { width: tw }),
        );
      } else {
        back.push(
          `<rect x="${VMA_X}" y="${ly}" width="${VMA_W}" height="${h}" rx="4" class="mm-vma mm-gone"/>`,
        );
        front.push(svgText(VMA_X + 10, ly + 16, b.title, { cls: 'mm-muted', width: tw }));
      }
      if (runs.length === 0) front.push(svgText(RUN_X, ly + 20, 'no leaves', { cls: 'mm-muted' }));
      runs.forEach((r, i) => {
        const ry = ly + i * (RUN_H + RUN_GAP);
        const mid = ry + RUN_H / 2;
        const [l1, l2] = runLabel(r);
        const stroke = r.zapped ? ZAPPED : LEVEL_COLOR[r.level];
        const dash = r.zapped ? ' stroke-dasharray="5 3"' : '';
        back.push(
          `<path d="M${VMA_X + VMA_W} ${ly + 12} C${VMA_X + VMA_W + 15} ${ly + 12} ${RUN_X - 15} ${mid} ${RUN_X} ${mid}" class="mm-tie"/>`,
        );
        front.push(
          `<g class="leaf-run${r.zapped ? ' mm-zapped' : ''}" data-level="${r.level}" data-count="${r.count}"><title>${escapeHtml(`${p.name}: ${l1}\n${l2}`)}</title>`,
          `<rect x="${RUN_X}" y="${ry}" width="${RUN_W}" height="${RUN_H}" rx="3" fill="${r.zapped ? '#fff5f5' : LEVEL_FILL[r.level]}" stroke="${stroke}"${dash}/>`,
          svgText(RUN_X + 8, ry + 14, l1, { width: RUN_W - 16 }),
          svgText(RUN_X + 8, ry + 28, l2, { cls: r.zapped ? 'mm-zaptext' : 'mm-muted', width: RUN_W - 16 }),
          '</g>',
        );
        const [lo, hi] = physRange(r);
        const s = strips.find((x) => lo >= x.lo && lo < x.hi)!;
        const y0 = addrY(s, lo);
        const y1 = Math.max(y0 + 2, addrY(s, hi));
        const ym = (y0 + y1) / 2;
        const x1 = RUN_X + RUN_W;
        const x2 = TICK_X - 1;
        lines.push(
          `<path d="M${x1} ${mid} C${x1 + 70} ${mid} ${x2 - 70} ${num(ym)} ${x2} ${num(ym)}" fill="none" stroke="${stroke}" stroke-width="1.4"${dash} marker-end="url(#mm-arrow-${r.zapped ? 'zap' : r.level})" opacity="0.85"/>`,
          `<rect x="${TICK_X}" y="${num(y0)}" width="${TICK_W}" height="${num(y1 - y0)}" fill="${stroke}"/>`,
        );
      });
      if (more > 0) {
        front.push(
          svgText(RUN_X, ly + runsH - 4, `+${formatCount(more)} more runs (see the table below)`, {
            cls: 'mm-muted',
          }),
        );
      }
      ly += h + 10;
    }
    ly += 10;
  }

  const height = Math.ceil(Math.max(ly, py) + PAD);
  const heads = [
    svgText(VMA_X, LEGEND_H + 16, 'virtual: process → VMA', { cls: 'mm-head' }),
    svgText(RUN_X, LEGEND_H + 16, 'page-table leaves (runs)', { cls: 'mm-head' }),
    svgText(PHYS_X, LEGEND_H + 16, 'physical: device BARs, dma-bufs', { cls: 'mm-head' }),
  ];
  return [
    `<svg id="memory-map-svg" class="diagram" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="memory map" font-size="${SVG_FONT}">`,
    defs(),
    legend(),
    ...heads,
    ...back,
    ...front,
    ...lines,
    '</svg>',
  ].join('\n');
}

function defs(): string {
  const arrow = (id: string, color: string) =>
    `<marker id="mm-arrow-${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="${color}"/></marker>`;
  return [
    '<defs>',
    '<pattern id="mm-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f1f3f5"/><line x1="0" y1="0" x2="0" y2="6" stroke="#868e96" stroke-width="3"/></pattern>',
    arrow('pud', LEVEL_COLOR.pud),
    arrow('pmd', LEVEL_COLOR.pmd),
    arrow('pte', LEVEL_COLOR.pte),
    arrow('zap', ZAPPED),
    '</defs>',
  ].join('');
}

function legend(): string {
  const items: string[] = [];
  let x = PAD;
  const y = 10;
  const swatch = (label: string, rect: (x: number) => string) => {
    items.push(rect(x), svgText(x + 22, y + 11, label));
    x += 22 + label.length * SVG_CHAR_W + 18;
  };
  for (const level of ['pud', 'pmd', 'pte'] as const) {
    const size = { pud: '1 GiB', pmd: '2 MiB', pte: '4 KiB' }[level];
    swatch(
      `${level.toUpperCase()} leaf (${size})`,
      (x) =>
        `<rect x="${x}" y="${y}" width="16" height="13" fill="${LEVEL_FILL[level]}" stroke="${LEVEL_COLOR[level]}"/>`,
    );
  }
  swatch(
    'zapped (cleared during the run)',
    (x) =>
      `<rect x="${x}" y="${y}" width="16" height="13" fill="#fff5f5" stroke="${ZAPPED}" stroke-dasharray="4 2"/>`,
  );
  swatch(
    'dma-buf range',
    (x) => `<rect x="${x}" y="${y}" width="16" height="13" fill="${DMABUF_COLORS[0]}"/>`,
  );
  swatch(
    'revoked dma-buf',
    (x) => `<rect x="${x}" y="${y}" width="16" height="13" fill="url(#mm-hatch)" stroke="#868e96"/>`,
  );
  return `<g class="mm-legend">${items.join('')}</g>`;
}

/** The memory map as text: one table row per VMA run, for reading and searching. */
export function renderMemoryMapTable(map: MemoryMap): string {
  const rows: string[] = [];
  for (const p of blocks(map)) {
    for (const b of p.vmas) {
      const vma = b.vma ? `${hex(b.vma.start)}–${hex(b.vma.end)} ${b.vma.flags} ${b.vma.file}` : b.title;
      const runs = b.runs.length > 0 ? b.runs : [undefined];
      for (const r of runs) {
        const [l1, l2] = r ? runLabel(r) : ['no leaves', ''];
        rows.push(
          `<tr${r?.zapped ? ' class="zapped"' : ''}><td>${escapeHtml(p.name)}</td><td>${escapeHtml(vma)}</td><td>${escapeHtml(l1)}</td><td>${escapeHtml(l2)}</td></tr>`,
        );
      }
    }
  }
  const devs: string[] = [];
  for (const d of map.devices) {
    for (const bar of d.bars) {
      devs.push(
        `<tr><td>${escapeHtml(d.name)}</td><td>BAR${bar.index}</td><td>${hex(bar.phys)}–${hex(bar.phys + bar.size)} (${formatBytes(bar.size)})</td><td>${escapeHtml(d.state)}</td></tr>`,
      );
    }
    for (const b of d.dmabufs) {
      const ranges = b.ranges.map((r) => `${hex(r.paddr)}–${hex(r.paddr + r.len)}`).join(', ');
      devs.push(
        `<tr><td>${escapeHtml(d.name)}</td><td>dma-buf ${escapeHtml(b.name)}</td><td>${escapeHtml(truncate(ranges, 400))}</td><td>${escapeHtml(b.state)}</td></tr>`,
      );
    }
  }
  return [
    '<table class="data"><thead><tr><th>process</th><th>VMA</th><th>leaves</th><th>maps</th></tr></thead><tbody>',
    rows.join('\n') || '<tr><td colspan="4">no processes</td></tr>',
    '</tbody></table>',
    '<table class="data"><thead><tr><th>device</th><th>what</th><th>physical</th><th>state</th></tr></thead><tbody>',
    devs.join('\n') || '<tr><td colspan="4">no devices</td></tr>',
    '</tbody></table>',
  ].join('\n');
}
