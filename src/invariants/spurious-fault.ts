// SPURIOUS_FAULT: a CPU access to an address inside a VFIO mapping that is usable — the device
// enabled, not in reset, in D0, memory decode on (the physical and the virtual COMMAND bit), not
// runtime-suspended, and for a dma-buf the buffer live and unrevoked — takes a page fault that
// fails with SIGBUS or OOM. The kernel's rule: vfio_pci_mmap_huge_fault() refuses a fault only when
// the memory is off (__vfio_pci_memory_enabled() under memory_lock) or the device is in low power;
// every other fault of a valid mapping ends with the pfn installed (or an equivalent leaf already
// there), and the model has no memory pressure, so an OOM is never real.
//
// The state must hold for the whole fault, not only when it returns: a fault that found memory off
// and returned SIGBUS after the memory came back on is right. The check therefore notes the state
// when the fault starts and compares it when the fault returns: the same hardware state (the
// device's hw record is replaced by every change of it), the same virtual COMMAND register, runtime
// PM and revoke state, the same VMA at the address. Checked at every fault of a CPU access
// (Machine.faultObservers), as the fault returns.

import type { CpuFault } from '../kernel/machine.js';
import { PAGE_SIZE } from '../kernel/mm/arch.js';
import type { Mm } from '../kernel/mm/mm.js';
import { VM_FAULT_OOM, VM_FAULT_SIGBUS, type Vma } from '../kernel/mm/mm_types.js';
import { decodes, PCI_COMMAND_MEMORY } from '../kernel/pci/pci.js';
import { Violation } from '../sched/violation.js';
import type { System } from '../uapi/system.js';
import { deviceOfMapping, expectedPfn, mappingOf } from './expected-pfn.js';

export const SPURIOUS_FAULT = 'SPURIOUS_FAULT';

/** What a usable mapping depends on, at one moment. */
interface Usable {
  vma: Vma;
  hw: unknown;
  vconfig: number;
  runtimePm: boolean;
  revoked: boolean;
  live: boolean;
  /** Why the mapping is not usable now, or null when it is. */
  unusable: string | null;
  /** The device and the pfn the address maps, for the report. */
  where: string;
}

/** The state a fault at `addr` of `mm` depends on, or undefined if no VFIO mapping is there. */
export function usableState(sys: System, mm: Mm, addr: number): Usable | undefined {
  const vma = mm.vmaLookup(addr);
  if (!vma) return undefined;
  const m = mappingOf(sys, vma);
  if (!m) return undefined;
  const want = expectedPfn(m, vma, addr - (addr % PAGE_SIZE));
  const vdev = deviceOfMapping(sys, m);
  if (!vdev) return undefined;
  const hw = vdev.pdev.hw.value;
  const vconfig = vdev.vconfigCommand.value;
  const runtimePm = vdev.pmRuntimeEngaged.value;
  const revoked = m.kind === 'dmabuf' && m.buf.revoked;
  const live = m.kind === 'device' || m.buf.vdev !== null;
  const memOn = vdev.pdev.noCommandMemory || (vconfig & PCI_COMMAND_MEMORY) !== 0;
  const unusable =
    want.pfn === null
      ? want.why
      : !decodes(vdev.pdev, hw)
        ? 'the device does not decode its BARs'
        : !memOn
          ? 'the virtual COMMAND register has memory off'
          : runtimePm
            ? 'the device is runtime-suspended'
            : !live
              ? 'the buffer was cleaned up'
              : revoked
                ? 'the buffer is revoked'
                : null;
  const where = `${m.kind === 'dmabuf' ? `${m.name} of ` : ''}${vdev.pdev.name}${want.pfn === null ? '' : ` (pfn 0x${want.pfn.toString(16)})`}`;
  return { vma, hw, vconfig, runtimePm, revoked, live, unusable, where };
}

function same(a: Usable, b: Usable): boolean {
  return (
    a.vma === b.vma &&
    a.hw === b.hw &&
    a.vconfig === b.vconfig &&
    a.runtimePm === b.runtimePm &&
    a.revoked === b.revoked &&
    a.live === b.live
  );
}

const describe = (ret: number): string => (ret & VM_FAULT_OOM ? 'VM_FAULT_OOM' : 'VM_FAULT_SIGBUS');

/**
 * Installs the check on a system's machine: a fault that breaks it throws the violation in the
 * faulting thread, as the fault returns.
 */
export function watchSpuriousFault(sys: System): void {
  sys.machine.faultObservers.push((f: CpuFault) => {
    const before = usableState(sys, f.mm as Mm, f.addr);
    if (!before || before.unusable !== null) return undefined;
    return (ret: number) => {
      if (!(ret & (VM_FAULT_SIGBUS | VM_FAULT_OOM))) return;
      const after = usableState(sys, f.mm as Mm, f.addr);
      if (!after || after.unusable !== null || !same(before, after)) return;
      throw new Violation(
        SPURIOUS_FAULT,
        `${f.thread} ${f.write ? 'store' : 'load'} at 0x${f.addr.toString(16)} (${after.where}) faulted with ${describe(ret)} while the mapping was usable for the whole fault`,
      );
    };
  });
}
