// MMIO_WHILE_DISABLED: no access — a CPU load or store, a kernel copy, a device's DMA — reaches a
// BAR while the device does not decode it: memory decode off, not in D0, in reset, or disabled
// (released). Checked at every access event, as the access happens. Kernel rule 1 of
// docs/invariants/README.md; zapping before every disable, under memory_lock, is what keeps it.
// Coherent device memory behind an emulated BAR (nvgrace-gpu) is not decoded by the function: an
// access to it is wrong only while the GPU is in reset or, after a reset, before its memory is
// ready again (devmemServes()).

import type { Access, Machine } from '../kernel/machine.js';
import { devmemServes } from '../kernel/pci/pci.js';
import { Violation } from '../sched/violation.js';

export const MMIO_WHILE_DISABLED = 'MMIO_WHILE_DISABLED';

/** Why a device does not decode its BARs now, or null if it does (no events: an invariant check). */
export function notDecodingBecause(
  machine: Machine,
  pfn: number,
): { device: string; bar: number; why: string } | null {
  for (const p of machine.pciDevices) {
    const bar = p.barOf(pfn);
    if (!bar) continue;
    const hw = p.hw.value;
    if (bar.deviceMemory) {
      if (devmemServes(hw)) return null;
      const why = hw.inReset
        ? 'the GPU is in reset'
        : 'its memory is not ready after a reset (no readiness poll has seen it ready)';
      return { device: p.name, bar: bar.index, why: `${why} (device memory)` };
    }
    if (p.decoding) return null;
    const why = !hw.enabled
      ? 'the device is disabled'
      : hw.inReset
        ? 'the device is in reset'
        : hw.power !== 'D0'
          ? `the device is in ${hw.power}`
          : 'memory decode is off';
    return { device: p.name, bar: bar.index, why };
  }
  return null;
}

/** Throws the violation if this access reaches a BAR that does not decode (the check itself). */
export function checkMmioAccess(machine: Machine, a: Access): void {
  const bad = notDecodingBecause(machine, a.pfn);
  if (!bad) return;
  throw new Violation(
    MMIO_WHILE_DISABLED,
    `${a.by}${a.thread ? ` (${a.thread})` : ''} ${a.write ? 'wrote' : 'read'} ${bad.device} BAR${bad.bar} ` +
      `(pfn 0x${a.pfn.toString(16)}${a.via ? `, via ${a.via}` : ''}) while ${bad.why}`,
  );
}

/** Installs the check on a machine: an access that breaks it throws the violation in its thread. */
export function watchMmioWhileDisabled(machine: Machine): void {
  machine.accessObservers.push((a: Access) => checkMmioAccess(machine, a));
}
