// The safety properties of the invariants contract (DESIGN.md), checked over a whole System: after
// every event (the program's invariant) and at every access (observers). Each throws a Violation
// with its id and one line of what went wrong. docs/invariants/ has a page per id; the table in
// docs/invariants/README.md maps the 17 rules of KERNEL.md to them.

import type { Access } from '../kernel/machine.js';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, specialAt } from '../kernel/mm/arch.js';
import type { Mm } from '../kernel/mm/mm.js';
import { anyFlag, type Translation, VM_PFNMAP, type Vma } from '../kernel/mm/mm_types.js';
import { decodes, PCI_COMMAND_MEMORY } from '../kernel/pci/pci.js';
import {
  indexToOffset,
  pgoffInRegion,
  pgoffToIndex,
  VFIO_PCI_ROM_REGION_INDEX,
  type VfioPciCoreDevice,
} from '../kernel/vfio/pci/core.js';
import type { VfioPciDmaBuf } from '../kernel/vfio/pci/dmabuf.js';
import { type MmapBase, ownAddressSpace, vfioPciDmaBufFindPfn } from '../kernel/vfio/pci/dmabuf_mmap.js';
import { Violation } from '../sched/violation.js';
import type { System } from '../uapi/system.js';
import { checkMmioAccess } from './mmio-while-disabled.js';

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

/** A device's memory is off for the CPU side (what faults check), and no transition is running. */
function offAndSettled(vdev: VfioPciCoreDevice): boolean {
  if (vdev.memoryLock.writer !== -1 || vdev.memoryLock.queue.length > 0) return false;
  const hw = vdev.pdev.hw.value;
  const memOn = vdev.pdev.noCommandMemory || (vdev.vconfigCommand.value & PCI_COMMAND_MEMORY) !== 0;
  return !(hw.power === 'D0' && memOn) || vdev.pmRuntimeEngaged.value;
}

/**
 * After every event: TRANSLATION, HUGE_LEAF, MAPPING_AFTER_REVOKE, ZAP_COVERAGE and
 * GUP_CONSISTENCY over the whole system.
 */
export function checkSystem(sys: System, enabled?: ReadonlySet<string>): void {
  const raise = raiser(enabled);
  // One violation per call: the records of single events first, so a persistent state violation
  // (a leaf that stays wrong) does not hide them.
  const g = sys.machine.gupThroughPfnmap[0];
  if (g) raise('GUP_CONSISTENCY', g);
  const arch = sys.machine.arch;
  for (const p of sys.processes.values()) {
    for (const l of p.mm.pt.leaves()) checkLeaf(sys, raise, arch, l, p.mm.vmaLookup(l.base));
  }
  checkDevices(sys, raise);
}

/** The per-leaf rules: HUGE_LEAF, TRANSLATION, MAPPING_AFTER_REVOKE. */
function checkLeaf(
  sys: System,
  raise: (id: InvariantId, message: string) => void,
  arch: System['machine']['arch'],
  l: Translation,
  vma: Vma | undefined,
): void {
  const size = l.level === 'pud' ? PUD_SIZE : l.level === 'pmd' ? PMD_SIZE : PAGE_SIZE;
  // HUGE_LEAF: inside its VMA, pfn aligned, on a level the arch can mark special.
  if (l.level !== 'pte') {
    if (!vma || l.base < vma.start || l.base + size > vma.end) {
      raise('HUGE_LEAF', `${l.level} leaf at ${hex(l.base)} reaches outside its VMA`);
    }
    if (l.pfn % (size / PAGE_SIZE) !== 0) {
      raise('HUGE_LEAF', `${l.level} leaf at ${hex(l.base)} maps unaligned pfn ${hex(l.pfn)}`);
    }
    if (vma && anyFlag(vma.flags, VM_PFNMAP) && !specialAt(arch, l.level as 'pmd' | 'pud')) {
      raise(
        'HUGE_LEAF',
        `${l.level} pfnmap leaf at ${hex(l.base)} on ${arch.name}, which cannot mark it special: gup-fast will treat it as a page`,
      );
    }
  }
  const vdev = vma ? deviceOfVma(vma) : undefined;
  if (!vma || !vdev) return;
  const base = baseOfVma(vma);
  if (base) {
    // TRANSLATION through the buffer's ranges (vfio_pci_dma_buf_find_pfn at the leaf's first page).
    const want = vfioPciDmaBufFindPfn(base, vma, l.base, 0);
    if (want < 0 || l.pfn !== want) {
      raise(
        'TRANSLATION',
        `${l.level} leaf at ${hex(l.base)} maps pfn ${hex(l.pfn)}, expected ${want < 0 ? 'nothing' : hex(want)} (${base.dmabuf?.name ?? 'device file'})`,
      );
    }
    // MAPPING_AFTER_REVOKE: a buffer whose revoke returned keeps no CPU mapping.
    if (base.revoked && base.dmabuf && vdev.memoryLock.writer === -1) {
      raise(
        'MAPPING_AFTER_REVOKE',
        `${l.level} leaf at ${hex(l.base)} still maps ${base.dmabuf.name} after its revoke returned`,
      );
    }
    if (offAndSettled(vdev)) {
      raise(
        'MAPPING_AFTER_REVOKE',
        `${l.level} leaf at ${hex(l.base)} still maps ${vdev.pdev.name} after its memory was disabled`,
      );
    }
    return;
  }
  // TRANSLATION: the design's offset arithmetic: vma_to_pfn() plus the page offset; in the
  // vma_list era vm_pgoff holds the first pfn itself.
  const vmaList = sys.machine.design.options.mmapScheme !== 'inode';
  const bar = vmaList ? vdev.pdev.barOf(vma.pgoff) : vdev.pdev.bars[pgoffToIndex(vma.pgoff)];
  if (bar) {
    const first = vmaList ? vma.pgoff : Math.floor(bar.phys / PAGE_SIZE) + pgoffInRegion(vma.pgoff);
    const want = first + (l.base - vma.start) / PAGE_SIZE;
    if (l.pfn !== want) {
      raise('TRANSLATION', `${l.level} leaf at ${hex(l.base)} maps pfn ${hex(l.pfn)}, expected ${hex(want)}`);
    }
  }
  // MAPPING_AFTER_REVOKE: once a disable has finished, no leaf maps the device's BARs.
  if (offAndSettled(vdev)) {
    raise(
      'MAPPING_AFTER_REVOKE',
      `${l.level} leaf at ${hex(l.base)} still maps ${vdev.pdev.name} BAR${bar?.index ?? '?'} after its memory was disabled`,
    );
  }
}

/** ZAP_COVERAGE and importer MAPPING_AFTER_REVOKE, per device. */
function checkDevices(sys: System, raise: (id: InvariantId, message: string) => void): void {
  for (const vdev of sys.devices.values()) {
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
        if (sys.machine.design.options.mmapScheme === 'vma-list') {
          // vma_list era: a VMA with PTEs must be on vdev->vma_list, once its mm is not being changed.
          const hasLeaves = p.mm.pt.leaves().some((t) => t.base >= vma.start && t.base < vma.end);
          if (
            hasLeaves &&
            !vdev.vmaList.includes(vma) &&
            p.mm.mmapLock.writer === -1 &&
            !vdev.vmaLock.locked
          ) {
            raise(
              'ZAP_COVERAGE',
              `VMA ${vma.describe()} has PTEs of ${vdev.pdev.name} but is not on its vma_list: no zap will find it`,
            );
          }
          continue;
        }
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
}

/**
 * At every access: MMIO_WHILE_DISABLED (see mmio-while-disabled.ts), DMA_AFTER_REVOKE (a DMA into
 * a revoked dma-buf's range once the revoke has returned) and ISOLATION (a CPU access through a
 * device fd's VMA reaches only that device's BARs).
 */
export function watchSystem(sys: System, enabled?: ReadonlySet<string>): void {
  const raise = raiser(enabled);
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
      const vma = (a.mm as Mm).vmaLookup(a.addr);
      const vdev = vma ? deviceOfVma(vma) : undefined;
      const base = vma ? baseOfVma(vma) : undefined;
      if (base?.dmabuf) {
        const addr = a.pfn * PAGE_SIZE;
        if (!base.physVec.some((r) => addr >= r.paddr && addr < r.paddr + r.len)) {
          raise(
            'ISOLATION',
            `${a.thread ?? 'a CPU'} reached pfn ${hex(a.pfn)} through a mapping of ${base.dmabuf.name}, outside its ranges`,
          );
        }
      }
      if (vdev && !vdev.pdev.barOf(a.pfn)) {
        raise(
          'ISOLATION',
          `${a.thread ?? 'a CPU'} reached pfn ${hex(a.pfn)} through a mapping of ${vdev.pdev.name}, outside its BARs`,
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
