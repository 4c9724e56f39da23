// The built-in demo: the race at the heart of VFIO BAR mapping, written directly on the explorer.
//
// A CPU fault installs a PTE for a BAR page only if memory decode is enabled; a write to the PCI
// command register disables decode and zaps the PTEs. In the kernel both hold vdev->memory_lock
// (drivers/vfio/pci/vfio_pci_core.c: vfio_pci_mmap_huge_fault() takes it for read around the check
// and the insert; vfio_pci_config.c: the command write takes it for write, zaps, then clears the
// bit). `checkOutsideLock: true` moves the fault's check before the lock, the bug the lock exists
// to prevent: the explorer finds the interleaving where a PTE survives with decode off.
//
// This is a teaching example of a dozen lines, not the kernel model (see docs/).

import { Cell } from '../sched/cell.js';
import type { Program, Thread } from '../sched/program.js';
import { RwSem } from '../sched/rwsem.js';

export interface DemoState {
  memoryLock: RwSem;
  /** The virtual PCI_COMMAND memory bit. */
  memoryEnabled: Cell<boolean>;
  /** One page-table entry of the BAR mapping. */
  ptePresent: Cell<boolean>;
}

export function faultVsZap(options: { checkOutsideLock?: boolean } = {}): Program<DemoState> {
  const outside = options.checkOutsideLock ?? false;
  return {
    name: outside ? 'fault-vs-zap (check outside memory_lock)' : 'fault-vs-zap',
    setup: () => ({
      memoryLock: new RwSem('memory_lock'),
      memoryEnabled: new Cell('memory_enabled', true),
      ptePresent: new Cell('pte', false),
    }),
    threads: {
      fault: function* (s): Thread<void> {
        const early = outside ? yield* s.memoryEnabled.read() : true;
        yield* s.memoryLock.downRead();
        const enabled = outside ? early : yield* s.memoryEnabled.read();
        if (enabled) yield* s.ptePresent.write(true);
        yield* s.memoryLock.upRead();
      },
      disable: function* (s): Thread<void> {
        yield* s.memoryLock.downWrite();
        yield* s.ptePresent.write(false); // zap
        yield* s.memoryEnabled.write(false);
        yield* s.memoryLock.upWrite();
      },
    },
    observes: (s) => [s.ptePresent, s.memoryEnabled],
    invariant: (s) =>
      s.ptePresent.value && !s.memoryEnabled.value
        ? 'a PTE maps the BAR while memory decode is off'
        : undefined,
  };
}
