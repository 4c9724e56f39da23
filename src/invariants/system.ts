// The safety properties the model checks (docs/invariants/), checked over a whole System: after
// every event (the program's invariant) and at every access (observers). Each throws a Violation
// with its id and one line of what went wrong. docs/invariants/ has a page per id; the table in
// docs/invariants/README.md maps the 17 kernel rules to them.

import type { Access } from '../kernel/machine.js';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, specialAt } from '../kernel/mm/arch.js';
import type { Mm } from '../kernel/mm/mm.js';
import { anyFlag, type Translation, VM_PFNMAP, type Vma } from '../kernel/mm/mm_types.js';
import { decodes, PCI_COMMAND_MEMORY } from '../kernel/pci/pci.js';
import { indexToOffset, VFIO_PCI_ROM_REGION_INDEX, type VfioPciCoreDevice } from '../kernel/vfio/pci/core.js';
import type { VfioPciDmaBuf } from '../kernel/vfio/pci/dmabuf.js';
import { type MmapBase, ownAddressSpace } from '../kernel/vfio/pci/dmabuf_mmap.js';
import { Violation } from '../sched/violation.js';
import type { System } from '../uapi/system.js';
import { deviceOfMapping, expectedPfn, mappingOf, oneRangeHolds } from './expected-pfn.js';
import { checkGupConsistency } from './gup-consistency.js';
import { checkMmioAccess } from './mmio-while-disabled.js';
import { watchSpuriousFault } from './spurious-fault.js';

export const INVARIANT_IDS = [
  'MMIO_WHILE_DISABLED',
  'MAPPING_AFTER_REVOKE',
  'DMA_AFTER_REVOKE',
  'TRANSLATION',
  'HUGE_LEAF',
  'GUP_CONSISTENCY',
  'ISOLATION',
  'REFCOUNT',
  'USE_AFTER_FREE',
  'ZAP_COVERAGE',
  'SPURIOUS_FAULT',
] as const;
export type InvariantId = (typeof INVARIANT_IDS)[number];

const hex = (x: number): string => `0x${x.toString(16)}`;

/** The device a VMA maps through its file (upstream: the vfio-pci device behind a device fd). */
function deviceOfVma(vma: Vma): VfioPciCoreDevice | undefined {
  const d = vma.privateData as VfioPciCoreDevice | MmapBase | undefined;
  if (!d || typeof d !== 'object') return undefined;
  if ('memoryLock' in d) return d;
  return baseOfVma(vma)?.vdev ?? undefined;
}

/** The proposal's base object behind a VMA (a VFIO dma-buf, or shared-base's dummy). */
function baseOfVma(vma: Vma): MmapBase | undefined {
  const d = vma.privateData as MmapBase | undefined;
  return d && typeof d === 'object' && 'physVec' in d && 'vmaPgoffAdjust' in d ? d : undefined;
}

/**
 * A device's memory is off for the CPU side (what faults check), and no transition is running (no
 * writer holds memory_lock; a writer still waiting for it has changed nothing yet).
 */
function offAndSettled(vdev: VfioPciCoreDevice): boolean {
  if (vdev.memoryLock.writer !== -1) return false;
  const hw = vdev.pdev.hw.value;
  const memOn = vdev.pdev.noCommandMemory || (vdev.vconfigCommand.value & PCI_COMMAND_MEMORY) !== 0;
  return !(hw.power === 'D0' && memOn) || vdev.pmRuntimeEngaged.value;
}

/** Where a state check records what it found (one line per violated rule instance). */
type Raise = (id: InvariantId, message: string) => void;

/**
 * The part of the system an object belongs to (src/scenario/scopes.ts): a page table or the VMAs
 * and mmap_lock of an mm, a device, or something else (global).
 */
export type Owner =
  | { kind: 'pt'; mm: string }
  | { kind: 'mm'; mm: string }
  | { kind: 'dev'; dev: string }
  | { kind: 'iommu'; dev: string }
  | { kind: 'open'; dev: string }
  | { kind: 'global' };

/**
 * After every event: TRANSLATION, HUGE_LEAF, MAPPING_AFTER_REVOKE, ZAP_COVERAGE and
 * GUP_CONSISTENCY over the whole system. Throws the first violation found.
 */
export function checkSystem(sys: System, enabled?: ReadonlySet<string>): void {
  const found = new StateCheck(sys, enabled, false).all();
  if (found.length > 0) throw found[0]!;
}

/**
 * The state rules of the system, checked whole (all()) or only where an event can have changed
 * what they read (after()). The rules are a conjunction of parts (src/scenario/scopes.ts): one per
 * page-table leaf (its entries, its mm's VMAs and mmap_lock, its device's state) and one per
 * device (the VMAs that map it, its address_space, its importers). A change to a page table
 * touches the leaves of the range it changed; a change to an mm's VMAs or mmap_lock, the leaves of
 * that mm and the device parts; a change to a device, the leaves of the mms and the part of that
 * device. Page tables report the ranges they change (PageTable.onChange) and mms their VMA
 * changes (Mm.onVmasChange); what an event changed is known from the object it wrote.
 */
export class StateCheck {
  private readonly raise: Raise;
  /** What the current check found (null: nothing yet; most checks find nothing, so allocate lazily). */
  private found: Violation[] | null = null;
  /** Per mm: virtual ranges whose leaves changed since the last check, as from, to pairs. */
  private readonly dirty = new Map<Mm, number[]>();
  /** after(): the leaves of an mm's dirty ranges, unless the mm is checked whole. */
  private readonly dirtyLeaves = (ranges: number[], mm: Mm): void => {
    if (this.whole.has(mm)) return;
    for (let i = 0; i < ranges.length; i += 2) this.leavesOf(mm, ranges[i]!, ranges[i + 1]!);
  };
  /** How many from, to pairs dirty holds (its arrays are kept and emptied, not dropped). */
  private dirtyN = 0;
  /** The mms to check whole (kept between checks: after() runs after every event). */
  private readonly whole = new Set<Mm>();
  /** Mms whose VMAs changed since the last check. */
  private readonly vmasChanged = new Set<Mm>();
  private readonly hooked = new WeakSet<Mm>();
  /** Processes seen by hook() (a fork adds one). */
  private hookedProcesses = -1;

  constructor(
    private readonly sys: System,
    private readonly enabled?: ReadonlySet<string>,
    /** Watch the page tables and VMA lists (after() needs it; a one-off all() does not). */
    private readonly watch = true,
  ) {
    this.raise = (id, message) => {
      if (!this.enabled || this.enabled.has(id)) (this.found ??= []).push(new Violation(id, message));
    };
    this.hook();
  }

  /** Watches the page tables and VMA lists of every mm (new mms appear with fork). */
  private hook(): void {
    if (!this.watch || this.sys.processes.size === this.hookedProcesses) return;
    this.hookedProcesses = this.sys.processes.size;
    for (const p of this.sys.processes.values()) {
      const mm = p.mm;
      if (this.hooked.has(mm)) continue;
      this.hooked.add(mm);
      mm.pt.onChange = (from, to) => {
        let d = this.dirty.get(mm);
        if (!d) {
          d = [];
          this.dirty.set(mm, d);
        }
        d.push(from, to);
        this.dirtyN++;
      };
      mm.onVmasChange = () => this.vmasChanged.add(mm);
      // An mm that appears (a fork's child, with its VMAs and copied page tables): all of it.
      this.vmasChanged.add(mm);
    }
  }

  /**
   * What the next check will look at because of changes not checked yet: per mm (by name) the
   * ranges whose leaves changed, and the mms whose VMAs changed. Empty after every check; the
   * rest of this object (which mms it has seen, the sets it reuses) is history that never changes
   * a verdict, so it is not part of the state a retry loop or state folding compares.
   */
  pending(): unknown[] {
    if (this.dirtyN === 0 && this.vmasChanged.size === 0) return NO_PENDING;
    const out: unknown[] = [];
    for (const [mm, ranges] of this.dirty) if (ranges.length > 0) out.push(mm.name, ranges.slice());
    for (const mm of this.vmasChanged) out.push(`vmas:${mm.name}`);
    return out;
  }

  /** Every rule over the whole system. */
  all(): Violation[] {
    this.found = null;
    this.hook();
    this.clearDirty();
    this.vmasChanged.clear();
    this.records();
    for (const p of this.sys.processes.values()) this.leavesOf(p.mm, 0, Number.POSITIVE_INFINITY);
    for (const vdev of this.sys.devices.values()) checkDevice(this.sys, this.raise, vdev);
    checkDomains(this.sys, this.raise);
    return this.found ?? [];
  }

  private clearDirty(): void {
    if (this.dirtyN === 0) return;
    for (const d of this.dirty.values()) d.length = 0;
    this.dirtyN = 0;
  }

  /**
   * The rules an event can have broken: `owner` is the owner of the object it wrote (null: it wrote
   * nothing the invariants read, or it only read).
   */
  after(owner: Owner | null): readonly Violation[] {
    this.hook();
    // Most events change nothing the rules read: only the records of single events to look at.
    if (owner === null && this.dirtyN === 0 && this.vmasChanged.size === 0) {
      return NONE;
    }
    this.found = null;
    this.records();
    const sys = this.sys;
    if (owner?.kind === 'global') {
      return this.all();
    }
    if (owner?.kind === 'iommu') {
      // An IOMMU domain's translations are read by its own part of ISOLATION only.
      checkDomains(sys, this.raise, owner.dev);
    } else if (owner?.kind === 'open') {
      // A device's open count is read by every domain's part.
      checkDomains(sys, this.raise);
    }
    const whole = this.whole;
    whole.clear();
    for (const mm of this.vmasChanged) whole.add(mm);
    let devices: Iterable<VfioPciCoreDevice> = NO_DEVICES;
    if (owner?.kind === 'mm') {
      for (const p of sys.processes.values()) if (p.mm.name === owner.mm) whole.add(p.mm);
      devices = sys.devices.values();
    } else if (owner?.kind === 'dev') {
      for (const p of sys.processes.values()) whole.add(p.mm);
      let d: VfioPciCoreDevice | undefined;
      for (const v of sys.devices.values()) if (v.pdev.name === owner.dev) d = v;
      devices = d ? [d] : sys.devices.values();
    }
    if (this.vmasChanged.size > 0) devices = sys.devices.values();
    for (const mm of whole) this.leavesOf(mm, 0, Number.POSITIVE_INFINITY);
    if (this.dirtyN > 0)
      // forEach: no [key, value] pair allocated per entry (this runs after most events).
      this.dirty.forEach(this.dirtyLeaves);
    for (const vdev of devices) checkDevice(sys, this.raise, vdev);
    this.clearDirty();
    this.vmasChanged.clear();
    return this.found ?? NONE;
  }

  /** GUP_CONSISTENCY over the whole system (gup-consistency.ts). */
  private records(): void {
    if (!this.enabled || this.enabled.has('GUP_CONSISTENCY')) checkGupConsistency(this.sys, this.raise);
  }

  /** The leaf rules for the leaves of mm that meet [from, to). */
  private leavesOf(mm: Mm, from: number, to: number): void {
    const arch = this.sys.machine.arch;
    for (const run of mm.pt.leaves()) {
      const size = LEAF_SIZE[run.level];
      const end = run.base + (run.count ?? 1) * size;
      if (end <= from) continue;
      if (run.base >= to) break;
      // The usual case, a run inside one VMA, needs no pieces.
      const vma = mm.vmaLookup(run.base);
      if (vma && end <= vma.end) checkLeaf(this.sys, this.raise, arch, run, vma, mm);
      else
        for (const [piece, v] of piecesByVma(mm, run, size))
          checkLeaf(this.sys, this.raise, arch, piece, v, mm);
    }
  }
}

const LEAF_SIZE = { pte: PAGE_SIZE, pmd: PMD_SIZE, pud: PUD_SIZE } as const;
const NONE: readonly Violation[] = [];
const NO_DEVICES: readonly VfioPciCoreDevice[] = [];
const NO_PENDING: unknown[] = [];

/**
 * A run of leaves cut where VMAs start or end: runs of whole leaves inside one VMA, and single
 * leaves that no VMA holds whole (with the VMA of their first byte, if any).
 */
function piecesByVma(mm: Mm, run: Translation, size: number): [Translation, Vma | undefined][] {
  const out: [Translation, Vma | undefined][] = [];
  const count = run.count ?? 1;
  const step = size / PAGE_SIZE;
  let k = 0;
  while (k < count) {
    const base = run.base + k * size;
    const vma = mm.vmaLookup(base);
    let n = 1;
    if (vma && base + size <= vma.end) n = Math.min(count - k, Math.floor((vma.end - base) / size));
    out.push([{ ...run, base, pfn: run.pfn + k * step, count: n }, vma]);
    k += n;
  }
  return out;
}

/**
 * The per-leaf rules, for a run of leaves inside one VMA (or one leaf no VMA holds whole): HUGE_LEAF,
 * TRANSLATION, MAPPING_AFTER_REVOKE, and in the vma_list era ZAP_COVERAGE (a VMA with PTEs is on
 * its device's vma_list). What the VMA maps is read from its vm_file (expected-pfn.ts), so a
 * dma-buf whose device is gone (cleanup set priv->vdev to NULL) still has its leaves checked.
 */
function checkLeaf(
  sys: System,
  raise: Raise,
  arch: System['machine']['arch'],
  l: Translation,
  vma: Vma | undefined,
  mm: Mm,
): void {
  const size = LEAF_SIZE[l.level];
  const step = size / PAGE_SIZE;
  const count = l.count ?? 1;
  const m = vma ? mappingOf(sys, vma) : undefined;
  // HUGE_LEAF: inside its VMA, pfn aligned, on a level the arch can mark special, and for a
  // dma-buf inside one of its ranges.
  if (l.level !== 'pte') {
    if (!vma || l.base < vma.start || l.base + size > vma.end) {
      raise('HUGE_LEAF', `${l.level} leaf at ${hex(l.base)} reaches outside its VMA`);
    }
    if (l.pfn % step !== 0) {
      raise('HUGE_LEAF', `${l.level} leaf at ${hex(l.base)} maps unaligned pfn ${hex(l.pfn)}`);
    }
    if (vma && anyFlag(vma.flags, VM_PFNMAP) && !specialAt(arch, l.level as 'pmd' | 'pud')) {
      raise(
        'HUGE_LEAF',
        `${l.level} pfnmap leaf at ${hex(l.base)} on ${arch.name}, which cannot mark it special: gup-fast will treat it as a page`,
      );
    }
    if (m?.kind === 'dmabuf') {
      for (let k = 0; k < count; k++) {
        if (!oneRangeHolds(m.buf.physVec, l.pfn + k * step, step)) {
          raise(
            'HUGE_LEAF',
            `${l.level} leaf at ${hex(l.base + k * size)} (pfn ${hex(l.pfn + k * step)}) is not inside one range of ${m.name}`,
          );
          break;
        }
      }
    }
  }
  if (!vma || !m) return;
  // TRANSLATION: the design's documented offset arithmetic, from the VMA alone, against what the
  // MMU takes from the leaf: for a PMD/PUD leaf only the frame bits above the block size (the low
  // bits of a misaligned pfn are no offset: x86 reads bit 12 of a huge entry as PAT and bits 13-20
  // as reserved, arm64's block descriptors have them RES0). A run of leaves is linear in the
  // address; the expected pfns are linear up to the end of a BAR or a range, so one comparison
  // answers for each such stretch.
  for (let k = 0; k < count; ) {
    const at = l.base + k * size;
    const stored = l.pfn + k * step;
    const pfn = stored - (stored % step);
    const want = expectedPfn(m, vma, at);
    if (want.pfn !== pfn) {
      raise(
        'TRANSLATION',
        `${l.level} leaf at ${hex(at)} maps pfn ${hex(pfn)}${pfn === stored ? '' : ` (its entry holds ${hex(stored)})`}, expected ${want.pfn === null ? `nothing (${want.why})` : hex(want.pfn)} (${m.kind === 'dmabuf' ? m.name : `${m.vdev.pdev.name} file, vm_pgoff ${hex(vma.pgoff)}`})`,
      );
      break;
    }
    k += Math.max(1, Math.floor(want.linear / step));
  }
  const vdev = deviceOfMapping(sys, m);
  if (m.kind === 'dmabuf') {
    // MAPPING_AFTER_REVOKE: a buffer whose revoke returned keeps no CPU mapping (cleanup revokes
    // for good: a buffer whose device is gone is revoked too).
    const settled = !vdev || vdev.memoryLock.writer === -1;
    if ((m.buf.revoked || m.buf.vdev === null) && settled) {
      raise(
        'MAPPING_AFTER_REVOKE',
        `${l.level} leaf at ${hex(l.base)} still maps ${m.name} after its ${m.buf.vdev === null ? 'cleanup' : 'revoke'} returned`,
      );
    }
    if (vdev && offAndSettled(vdev)) {
      raise(
        'MAPPING_AFTER_REVOKE',
        `${l.level} leaf at ${hex(l.base)} still maps ${vdev.pdev.name} after its memory was disabled`,
      );
    }
    return;
  }
  if (!vdev) return;
  // MAPPING_AFTER_REVOKE: once a disable has finished, no leaf maps the device's BARs.
  if (offAndSettled(vdev)) {
    const bar = vdev.pdev.barOf(l.pfn);
    raise(
      'MAPPING_AFTER_REVOKE',
      `${l.level} leaf at ${hex(l.base)} still maps ${vdev.pdev.name} BAR${bar?.index ?? '?'} after its memory was disabled`,
    );
  }
  // ZAP_COVERAGE, vma_list era: a VMA with PTEs must be on vdev->vma_list, once its mm is not being
  // changed and the device is not listing or zapping.
  const scheme = sys.machine.design.options.mmapScheme;
  if (
    scheme === 'vma-list' &&
    !vdev.vmaList.includes(vma) &&
    mm.mmapLock.writer === -1 &&
    !vdev.vmaLock.locked
  ) {
    raise(
      'ZAP_COVERAGE',
      `VMA ${vma.describe()} has PTEs of ${vdev.pdev.name} but is not on its vma_list: no zap will find it`,
    );
  }
}

/**
 * ISOLATION for device DMA: a device that somebody holds (its open count above zero) has no IOMMU
 * translation into the BAR of a device that nobody holds any more (open count zero: its last file
 * was released, so it may be handed to another user or a host driver). `only`: the domain of that
 * device alone. One part per domain: it reads that domain, and the open counts of the devices.
 */
function checkDomains(sys: System, raise: Raise, only?: string): void {
  let released: VfioPciCoreDevice[] | undefined;
  for (const [name, domain] of sys.domains) {
    if (only !== undefined && name !== only) continue;
    const holder = sys.devices.get(name);
    if (!holder || holder.vdev.openCount.value === 0) continue;
    const table = domain.table.value;
    if (table.size === 0) continue;
    released ??= [...sys.devices.values()].filter((v) => v.vdev.openCount.value === 0);
    if (released.length === 0) return;
    for (const [iovaPage, pfn] of table) {
      const gone = released.find((v) => v.pdev.barOf(pfn));
      if (!gone) continue;
      const bar = gone.pdev.barOf(pfn)!;
      raise(
        'ISOLATION',
        `${name}'s IOMMU domain still translates iova ${hex(iovaPage * PAGE_SIZE)} to pfn ${hex(pfn)} in ${gone.pdev.name} BAR${bar.index}, but ${gone.pdev.name} is released (no file of it is open): a device nobody holds is reachable by ${name}'s DMA`,
      );
      break;
    }
  }
}

/** ZAP_COVERAGE and importer MAPPING_AFTER_REVOKE, for one device. */
function checkDevice(sys: System, raise: Raise, vdev: VfioPciCoreDevice): void {
  // ZAP_COVERAGE: every VMA that maps this device's BARs is reachable by vfio_pci_zap_bars():
  // linked into the device inode's address_space, inside the BAR region offsets.
  for (const p of sys.processes.values()) {
    for (const vma of p.mm.vmas) {
      if (deviceOfVma(vma) !== vdev) continue;
      // v5.7 has no zap at all: MAPPING_AFTER_REVOKE and MMIO_WHILE_DISABLED report what follows.
      if (sys.machine.design.options.mmapScheme === 'eager') continue;
      const base = baseOfVma(vma);
      if (base) {
        // The proposal: the buffer's revoke zaps buffer offsets [0, size) of its own
        // address_space (step 4 on); otherwise the device inode's BAR range is zapped.
        const own = base.dmabuf && ownAddressSpace(vdev) ? base.dmabuf.file.mapping : undefined;
        const mapping = own ?? vdev.vdev.inode.mapping;
        const first = vma.pgoff;
        const last = vma.pgoff + vma.pages;
        const limit = own
          ? Math.ceil(base.size / PAGE_SIZE)
          : indexToOffset(VFIO_PCI_ROM_REGION_INDEX) / PAGE_SIZE;
        if (p.mm.mmapLock.writer !== -1) continue; // the VMA is being set up or torn down
        if (!mapping.contains(vma) || first < 0 || last > limit) {
          raise(
            'ZAP_COVERAGE',
            `VMA ${vma.describe()} maps ${vdev.pdev.name} but ${own ? `the revoke of ${base.dmabuf!.name} zaps pgoffs [0, ${hex(limit)})` : "the device's zap"}${mapping.contains(vma) ? '' : ' in an address_space it is not linked into'}: it cannot reach it`,
          );
        }
        continue;
      }
      // The vma_list era's coverage is a per-leaf rule (checkLeaf): a VMA is unlisted until it faults.
      if (sys.machine.design.options.mmapScheme === 'vma-list') continue;
      const inRange = vma.pgoff * PAGE_SIZE < indexToOffset(VFIO_PCI_ROM_REGION_INDEX);
      if (vma.file?.mapping !== vdev.vdev.inode.mapping || !inRange) {
        raise(
          'ZAP_COVERAGE',
          `VMA ${vma.describe()} maps ${vdev.pdev.name} but the device's zap cannot reach it`,
        );
      }
    }
  }
  // MAPPING_AFTER_REVOKE for importers: a revoke that returned left no importer mapping.
  if (vdev.memoryLock.writer === -1) {
    for (const priv of vdev.dmabufs as VfioPciDmaBuf[]) {
      if (!priv.revoked) continue;
      for (const at of priv.dmabuf.attachments) {
        const imp = at.importerPriv as { sgt?: unknown; name?: string } | undefined;
        if (imp && 'sgt' in imp && imp.sgt) {
          raise(
            'MAPPING_AFTER_REVOKE',
            `importer ${imp.name ?? '?'} still holds a mapping of a revoked ${priv.dmabuf.name}`,
          );
        }
      }
    }
  }
}

/**
 * At every access: MMIO_WHILE_DISABLED (see mmio-while-disabled.ts), DMA_AFTER_REVOKE (a DMA into
 * a revoked dma-buf's range once the revoke has returned) and ISOLATION (a CPU access through a
 * device file's VMA reaches only that device's BARs, through a dma-buf's only its ranges). At every fault of a CPU access: SPURIOUS_FAULT
 * (spurious-fault.ts).
 */
export function watchSystem(sys: System, enabled?: ReadonlySet<string>): void {
  const raise = raiser(enabled);
  if (!enabled || enabled.has('SPURIOUS_FAULT')) watchSpuriousFault(sys);
  sys.machine.accessObservers.push((a: Access) => {
    if (!enabled || enabled.has('MMIO_WHILE_DISABLED')) checkMmioAccess(sys.machine, a);
    if (a.by === 'dma') {
      for (const vdev of sys.devices.values()) {
        if (vdev.memoryLock.writer !== -1) continue;
        for (const priv of vdev.dmabufs as VfioPciDmaBuf[]) {
          if (!priv.revoked) continue;
          const addr = a.pfn * PAGE_SIZE;
          if (
            priv.physVec.some((r) => addr >= r.paddr && addr < r.paddr + r.len) &&
            decodes(vdev.pdev, vdev.pdev.hw.value)
          ) {
            raise(
              'DMA_AFTER_REVOKE',
              `${a.thread ?? 'a device'} DMA reached ${priv.dmabuf.name} (pfn ${hex(a.pfn)}) after its revoke returned`,
            );
          }
        }
      }
    }
    if (a.by === 'cpu' && a.mm && a.addr !== undefined) {
      // ISOLATION: what the VMA's file gives access to — a device file its device's BARs, a dma-buf
      // its ranges (whatever became of its device).
      const vma = (a.mm as Mm).vmaLookup(a.addr);
      const m = vma ? mappingOf(sys, vma) : undefined;
      if (m?.kind === 'dmabuf') {
        const addr = a.pfn * PAGE_SIZE;
        if (!m.buf.physVec.some((r) => addr >= r.paddr && addr < r.paddr + r.len)) {
          raise(
            'ISOLATION',
            `${a.thread ?? 'a CPU'} reached pfn ${hex(a.pfn)} through a mapping of ${m.name}, outside its ranges`,
          );
        }
      } else if (m?.kind === 'device' && !m.vdev.pdev.barOf(a.pfn)) {
        raise(
          'ISOLATION',
          `${a.thread ?? 'a CPU'} reached pfn ${hex(a.pfn)} through a mapping of ${m.vdev.pdev.name}, outside its BARs`,
        );
      }
    }
  });
}

/**
 * Throws the violation when its id is checked (`enabled` absent: every id). One violation per
 * check: the first enabled one found.
 */
function raiser(enabled: ReadonlySet<string> | undefined): (id: string, message: string) => void {
  return (id, message) => {
    if (!enabled || enabled.has(id)) throw new Violation(id, message);
  };
}
