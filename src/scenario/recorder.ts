// Recording for reports (replays only, never during the search): after every event, which
// page-table leaves appeared or went away and which dma-bufs changed revoke state, as marks; at the
// end, the memory map (processes -> VMAs -> leaves, devices -> BARs -> dma-buf ranges).

import { PAGE_SIZE, PMD_SIZE, PUD_SIZE } from '../kernel/mm/arch.js';
import { flagNames, type Translation } from '../kernel/mm/mm_types.js';
import { decodes } from '../kernel/pci/pci.js';
import type { VfioPciDmaBuf } from '../kernel/vfio/pci/dmabuf.js';
import type { LeafView, MemoryMap } from '../report/record.js';
import type { World } from './program.js';

const SIZE = { pte: PAGE_SIZE, pmd: PMD_SIZE, pud: PUD_SIZE } as const;

/** Runs of up to this many leaves are recorded leaf by leaf (a larger one stays one view). */
const EXPAND = 4096;

/** The page table's leaves as views: one per leaf, or one per run for very long runs. */
function leafViews(t: Translation): LeafView[] {
  const level = t.level as LeafView['level'];
  const size = SIZE[level];
  const n = t.count ?? 1;
  if (n > EXPAND) return [{ level, va: t.base, size, pfn: t.pfn, count: n }];
  const out: LeafView[] = [];
  for (let k = 0; k < n; k++)
    out.push({ level, va: t.base + k * size, size, pfn: t.pfn + (k * size) / PAGE_SIZE });
  return out;
}
const hex = (x: number): string => `0x${x.toString(16)}`;

type Seen = LeafView & { process: string };

export class PageTableRecorder {
  private leaves = new Map<string, Seen>();
  /** Each process's leaves() array at the last observation: the same array means nothing changed. */
  private lastLeaves = new Map<string, readonly Translation[]>();
  private revoked = new Map<string, string>();
  readonly zapped: MemoryMap['zapped'] = [];

  /** Compares the world with the last observation and records the differences as marks. */
  observe(w: World): void {
    const after = w.events;
    if (this.leavesChanged(w)) this.diffLeaves(w, after);
    for (const vdev of w.sys.devices.values()) {
      for (const priv of vdev.dmabufs as VfioPciDmaBuf[]) {
        const state = dmabufState(priv);
        const name = priv.dmabuf.name;
        if ((this.revoked.get(name) ?? 'ok') !== state) {
          w.marks?.push({ after, kind: 'revoke', text: `${name} ${state}`, data: { dmabuf: name, state } });
        }
        this.revoked.set(name, state);
      }
    }
  }

  /**
   * Whether any process's page table changed since the last observation. leaves() returns the same
   * array until a table changes, so most events (which touch no page table) are answered without
   * walking a single leaf: a 4 MiB mapping has 1,024, and a run has tens of thousands of events.
   */
  private leavesChanged(w: World): boolean {
    let changed = false;
    let live = 0;
    for (const [pname, pr] of w.procs) {
      if (!pr.proc) continue;
      live++;
      const now = pr.proc.mm.pt.leaves();
      if (this.lastLeaves.get(pname) !== now) {
        this.lastLeaves.set(pname, now);
        changed = true;
      }
    }
    if (live !== this.lastLeaves.size) {
      for (const pname of [...this.lastLeaves.keys()])
        if (!w.procs.get(pname)?.proc) this.lastLeaves.delete(pname);
      changed = true;
    }
    return changed;
  }

  private diffLeaves(w: World, after: number): void {
    const now = new Map<string, Seen>();
    for (const [pname, pr] of w.procs) {
      if (!pr.proc) continue;
      for (const t of pr.proc.mm.pt.leaves()) {
        for (const v of leafViews(t)) {
          const leaf: Seen = { process: pname, ...v };
          now.set(`${pname}/${v.level}/${v.va}/${v.pfn}/${v.count ?? 1}`, leaf);
        }
      }
    }
    for (const [k, l] of now) {
      if (this.leaves.has(k)) continue;
      w.marks?.push({
        after,
        kind: 'leaf-set',
        text: `${l.level} ${hex(l.va)} -> pfn ${hex(l.pfn)} in ${l.process}`,
        data: { process: l.process, level: l.level, va: l.va, pfn: l.pfn },
      });
    }
    for (const [k, l] of this.leaves) {
      if (now.has(k)) continue;
      this.zapped.push({ ...l, after });
      w.marks?.push({
        after,
        kind: 'leaf-clear',
        text: `${l.level} ${hex(l.va)} (pfn ${hex(l.pfn)}) cleared in ${l.process}`,
        data: { process: l.process, level: l.level, va: l.va, pfn: l.pfn },
      });
    }
    this.leaves = now;
  }
}

function dmabufState(priv: VfioPciDmaBuf): string {
  return priv.revoked ? 'revoked' : 'ok';
}

/** The memory map of a world, for the report. */
export function memoryMap(w: World, zapped: MemoryMap['zapped'] = []): MemoryMap {
  const processes: MemoryMap['processes'] = [];
  for (const [name, pr] of w.procs) {
    if (!pr.proc) continue;
    const leaves = pr.proc.mm.pt.leaves();
    processes.push({
      name,
      vmas: pr.proc.mm.vmas.map((v) => ({
        start: v.start,
        end: v.end,
        flags: flagNames(v.flags),
        file: v.file ? v.file.name : 'anon',
        offset: v.pgoff * PAGE_SIZE,
        leaves: leaves.flatMap(leafViews).filter((l) => l.va >= v.start && l.va < v.end),
      })),
    });
  }
  const devices: MemoryMap['devices'] = [];
  for (const vdev of w.sys.devices.values()) {
    const hw = vdev.pdev.hw.value;
    devices.push({
      name: vdev.pdev.name,
      bars: vdev.pdev.bars
        .filter((b) => b !== undefined)
        .map((b) => ({
          index: b.index,
          phys: b.phys,
          size: b.size,
          structPages: b.range.kind === 'mmio-pages',
        })),
      dmabufs: (vdev.dmabufs as VfioPciDmaBuf[]).map((priv) => ({
        name: priv.dmabuf.name,
        ranges: priv.physVec.map((r) => ({ paddr: r.paddr, len: r.len })),
        state: dmabufState(priv),
      })),
      state: `${hw.power}${hw.inReset ? ' in reset' : ''}, ${hw.enabled ? 'enabled' : 'disabled'}, memory decode ${
        decodes(vdev.pdev, hw) ? 'on' : 'off'
      }`,
    });
  }
  return { processes, devices, zapped };
}
