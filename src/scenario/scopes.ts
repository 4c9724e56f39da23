// Which part of the system each shared object belongs to, for the explorer's visibility rule
// (Program.scopeOf / scopesRelated) and for checking the invariants incrementally.
//
// The system invariants (src/invariants/system.ts) are a conjunction of parts:
// - one per page-table leaf: the leaf's entries, its mm's VMAs and mmap_lock, and the state of the
//   device its VMA maps (decode, power, reset, memory_lock, its dma-bufs' revoke state);
// - one per device: the VMAs of every mm that map it, its address_space, its importers;
// - within the leaf part, ZAP_COVERAGE (v5.8 to v6.9) reads the device's vma_list and vma_lock
//   with the leaf and its mm, and no rule reads them with the device's other objects: vma_lock
//   has a scope of its own (`list:<device>`), related to the mms that can map the device only;
// - one per IOMMU domain (ISOLATION for DMA): the domain's translations and the open counts of
//   the devices, so a domain's writes are ordered against open counts (and nothing else), and
//   two open counts against each other where one process family can hold both devices.
// So writes must be ordered only between the objects one part reads together: a page table with
// its own mm and with the devices that mm can map; an mm's VMAs (under mmap_lock) with the same;
// a device's objects with each other. Two page tables' entries are never read together (each leaf
// is read alone), nor are two devices, nor two mms. Objects whose owner cannot be told from their
// name go to one `global` scope related to everything, which is always safe.

import type { Owner } from '../invariants/system.js';
import type { Prim } from '../sched/prim.js';
import type { Scenario } from './resolve.js';

const PT = /^(mm\..+)\.(pud|pt@[0-9a-f]+|pmd@[0-9a-f]+|pte@[0-9a-f]+)$/;
const MM = /^(mm\..+)\.mmap_lock$/;
/** A device's IOMMU translation table (IommuDomain.table). */
const IOMMU = /^(.+)\.domain\.iommu_domain$/;
/** A VFIO device's open count (vfio_device.open_count). */
const OPEN = /^(?:vfio:)?(.+)\.open_count$/;

export class ScenarioScopes {
  private readonly devices: string[];
  private readonly processes: Set<string>;
  /** Per process family (a started process and the processes forked from it): devices it can map. */
  private readonly reach = new Map<string, Set<string> | 'all'>();
  private readonly familyOf = new Map<string, string>();
  private readonly owners = new Map<string, Owner>();

  constructor(sc: Scenario) {
    this.devices = sc.devices.map((d) => d.name).sort((a, b) => b.length - a.length);
    this.processes = new Set(sc.processes.map((p) => p.name));
    this.computeReach(sc);
  }

  /** The owner of an object, from its name (cached: the answer for a name never changes). */
  owner(name: string): Owner {
    let o = this.owners.get(name);
    if (o === undefined) {
      o = this.classify(name);
      if (this.owners.size < 100_000) this.owners.set(name, o);
    }
    return o;
  }

  private classify(name: string): Owner {
    const pt = PT.exec(name);
    if (pt) return { kind: 'pt', mm: pt[1]! };
    const mm = MM.exec(name);
    if (mm) return { kind: 'mm', mm: mm[1]! };
    const iommu = IOMMU.exec(name);
    if (iommu && this.devices.includes(iommu[1]!)) return { kind: 'iommu', dev: iommu[1]! };
    const open = OPEN.exec(name);
    if (open && this.devices.includes(open[1]!)) return { kind: 'open', dev: open[1]! };
    let dev: string | undefined;
    for (const d of this.devices) {
      if (name.startsWith(`${d}.`) || name.startsWith(`vfio:${d}.`) || name.startsWith(`dmabuf:${d}/`)) {
        // A name that could also start with a process's name, or with two devices' names, is not
        // told apart: global.
        if (dev !== undefined) return { kind: 'global' };
        dev = d;
      }
    }
    if (dev === undefined) return { kind: 'global' };
    for (const p of this.processes) if (name.startsWith(`${p}.`)) return { kind: 'global' };
    return { kind: 'dev', dev };
  }

  /** The visibility scope of an object (Program.scopeOf). */
  readonly scopeOf = (p: Prim): string => {
    const o = this.owner(p.name);
    switch (o.kind) {
      case 'pt':
        return `pt:${o.mm}`;
      case 'mm':
        return `mm:${o.mm}`;
      case 'dev':
        // vdev->vma_lock: ZAP_COVERAGE reads it (and the vma_list it guards) with a leaf and its
        // mm's mmap_lock, and no part reads it with the device's other objects.
        return p.name === `${o.dev}.vma_lock` ? `list:${o.dev}` : `dev:${o.dev}`;
      case 'iommu':
        return `iommu:${o.dev}`;
      case 'open':
        return `open:${o.dev}`;
      default:
        return 'global';
    }
  };

  /** Do two scopes share a part of the invariant (Program.scopesRelated)? */
  readonly related = (a: string, b: string): boolean => {
    if (a === 'global' || b === 'global') return true;
    const [ka, va] = split(a);
    const [kb, vb] = split(b);
    // A domain's part of ISOLATION reads that domain and the open counts of the devices; the open
    // counts of two devices are read together only where one process family can hold both (a
    // domain translates into another device's BAR only through such a family's mmap or dma-buf).
    if (ka === 'iommu' || kb === 'iommu') return ka === 'open' || kb === 'open';
    if (ka === 'open' || kb === 'open') {
      if (ka !== kb) return false;
      return va === vb || this.heldTogether(va, vb);
    }
    if (ka === 'pt' && kb === 'pt') return false;
    const da = ka === 'dev' || ka === 'list';
    const db = kb === 'dev' || kb === 'list';
    // A device's vma_lock (its vma_list) and its other objects are read by different parts.
    if (da && db) return ka === kb && va === vb;
    if (!da && !db) return va === vb;
    const mm = da ? vb : va;
    const dev = da ? va : vb;
    return this.canMap(mm, dev);
  };

  /** Can one process family hold both devices? (A family whose reach is unknown holds all.) */
  heldTogether(a: string, b: string): boolean {
    for (const r of this.reach.values()) if (r === 'all' || (r.has(a) && r.has(b))) return true;
    return this.reach.size === 0;
  }

  /** Can the mm named `mm` map device `dev`? (Unknown mms: yes.) */
  canMap(mm: string, dev: string): boolean {
    const fam = this.familyOf.get(rootProcess(mm));
    const r = fam === undefined ? 'all' : this.reach.get(fam);
    return r === undefined || r === 'all' || r.has(dev);
  }

  /**
   * The devices each process family can hold an fd of: opened in it, or sent to it from a family
   * that can (a fixpoint over `send`). A family whose reach cannot be told (an operation that
   * names a device indirectly) can reach every device.
   */
  private computeReach(sc: Scenario): void {
    const parentOf = new Map<string, string>();
    const opsIn: { proc: string; op: Scenario['setup'][number] }[] = [];
    const first = sc.processes[0]?.name ?? 'main';
    for (const op of sc.setup) opsIn.push({ proc: op.process ?? first, op });
    for (const t of sc.threads) for (const op of t.ops) opsIn.push({ proc: t.process, op });
    for (const { proc, op } of opsIn) {
      if (op.op === 'fork') parentOf.set((op.args as { as: string }).as, proc);
    }
    const family = (p: string): string => {
      let q = p;
      for (let i = 0; i < 64 && parentOf.has(q); i++) q = parentOf.get(q)!;
      return q;
    };
    for (const p of sc.processes) this.familyOf.set(p.name, family(p.name));
    const devs = new Map<string, Set<string>>();
    for (const p of sc.processes) devs.set(family(p.name), new Set());
    const sends: [string, string][] = [];
    for (const { proc, op } of opsIn) {
      const f = family(proc);
      const a = op.args as Record<string, unknown>;
      if (op.op === 'open' && typeof a.device === 'string') devs.get(f)?.add(a.device);
      if (op.op === 'send' && typeof a.to === 'string') sends.push([f, family(a.to)]);
    }
    for (let changed = true; changed; ) {
      changed = false;
      for (const [from, to] of sends) {
        const src = devs.get(from);
        const dst = devs.get(to);
        if (!src || !dst) continue;
        for (const d of src) {
          if (dst.has(d)) continue;
          dst.add(d);
          changed = true;
        }
      }
    }
    for (const [f, s] of devs) this.reach.set(f, s);
  }
}

function split(scope: string): [string, string] {
  const i = scope.indexOf(':');
  return [scope.slice(0, i), scope.slice(i + 1)];
}

/**
 * The process an mm was made for: `mm.vmm`, and a forked child's `mm.kid` (System.mmName); an mm
 * forked outside a scenario is named after its parent and a fork count (`mm.vmm.1`, `mm.vmm.1.2`).
 */
function rootProcess(mm: string): string {
  return mm.slice(3).replace(/(\.\d+)+$/, '');
}
