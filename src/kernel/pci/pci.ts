// A PCI function as the model needs it (include/linux/pci.h, drivers/pci/pci.c): memory BARs
// backed by physical ranges, the hardware PCI_COMMAND register, the power state, and function
// reset. The hardware state is what decides whether an access to a BAR reaches the device.

import { Cell } from '../../sched/cell.js';
import type { Thread } from '../../sched/program.js';
import type { Machine } from '../machine.js';
import type { PhysRange } from '../mm/phys.js';

/** include/uapi/linux/pci_regs.h: PCI_COMMAND_MEMORY. */
export const PCI_COMMAND_MEMORY = 0x2;
/** include/uapi/linux/pci_regs.h: PCI_COMMAND_MASTER. */
export const PCI_COMMAND_MASTER = 0x4;
/** include/uapi/linux/pci_regs.h: PCI_COMMAND_INTX_DISABLE. */
export const PCI_COMMAND_INTX_DISABLE = 0x400;

/** include/linux/pci.h: pci_power_t, the states the model uses (D0 < D3hot). */
export type PowerState = 'D0' | 'D3hot';

export interface BarSpec {
  index: number;
  /** Bytes. */
  size: number;
  /** Physical address. */
  phys: number;
  /** MMIO with struct pages (ZONE_DEVICE / P2PDMA). */
  structPages?: boolean;
}

export interface PciDevSpec {
  name: string;
  bars: BarSpec[];
  /** An SR-IOV VF: no memory bit in its command register (pdev->no_command_memory). */
  noCommandMemory?: boolean;
  /** Supports function-level reset (pci_try_reset_function; VFIO's reset_works). Default true. */
  reset?: boolean;
}

export class PciBar {
  constructor(
    readonly index: number,
    readonly size: number,
    readonly phys: number,
    readonly range: PhysRange,
  ) {}
}

/** The device state that decides whether a BAR access reaches it. */
export interface PciHw {
  /** The hardware PCI_COMMAND register. */
  command: number;
  /** pdev->current_state. */
  power: PowerState;
  /** A function or bus reset is in progress. */
  inReset: boolean;
  /** pci_enable_device() has been called and not undone. */
  enabled: boolean;
}

export class PciDev {
  readonly name: string;
  readonly bars: (PciBar | undefined)[] = [];
  /**
   * The hardware state, one Cell: every BAR access reads it (an event), so the explorer orders
   * accesses against every change that can stop the device decoding.
   */
  readonly hw: Cell<PciHw>;
  readonly noCommandMemory: boolean;
  readonly resetCapable: boolean;

  constructor(
    readonly machine: Machine,
    spec: PciDevSpec,
  ) {
    this.name = spec.name;
    this.noCommandMemory = spec.noCommandMemory ?? false;
    this.resetCapable = spec.reset ?? true;
    for (const b of spec.bars) {
      if (b.index < 0 || b.index > 5) throw new Error(`${spec.name}: BAR index ${b.index} is not 0-5`);
      const range = machine.phys.add({
        pfn: Math.floor(b.phys / 4096),
        pages: Math.ceil(b.size / 4096),
        kind: b.structPages ? 'mmio-pages' : 'mmio',
        owner: `${spec.name}/BAR${b.index}`,
      });
      this.bars[b.index] = new PciBar(b.index, b.size, b.phys, range);
    }
    // Firmware leaves memory decode on for a device with memory BARs.
    this.hw = new Cell<PciHw>(`${spec.name}.hw`, {
      command: PCI_COMMAND_MEMORY,
      power: 'D0',
      inReset: false,
      enabled: false,
    });
    machine.pciDevices.push(this);
  }

  /** Would an access to a BAR reach the device now? (Hardware view, no event: for invariants.) */
  get decoding(): boolean {
    return decodes(this, this.hw.value);
  }

  /** The BAR that contains a pfn. */
  barOf(pfn: number): PciBar | undefined {
    return this.bars.find((b) => b?.range.contains(pfn));
  }
}

/** Does a device in this state decode its memory BARs? */
export function decodes(pdev: PciDev, hw: PciHw): boolean {
  return (
    hw.enabled &&
    !hw.inReset &&
    hw.power === 'D0' &&
    (pdev.noCommandMemory || (hw.command & PCI_COMMAND_MEMORY) !== 0)
  );
}

/** One event: changes part of the hardware state. */
function setHw(pdev: PciDev, change: Partial<PciHw>): Thread<void> {
  return pdev.hw.rmw((h) => [{ ...h, ...change }, undefined]);
}

// drivers/pci/pci.c: pci_enable_device() / pci_disable_device()
export function* pciEnableDevice(pdev: PciDev, on: boolean): Thread<void> {
  yield* setHw(pdev, { enabled: on });
}

// drivers/pci/access.c: pci_write_config_word(pdev, PCI_COMMAND, value) — the hardware register.
export function* pciWriteCommand(pdev: PciDev, value: number): Thread<void> {
  yield* setHw(pdev, { command: value });
}

// drivers/pci/pci.c: pci_set_power_state()
export function* pciSetPowerState(pdev: PciDev, state: PowerState): Thread<number> {
  yield* setHw(pdev, { power: state });
  return 0;
}

/**
 * drivers/pci/pci.c: pci_try_reset_function() — pci_dev_save_and_disable(), the reset (FLR or
 * another method: the device stops decoding and its command register is cleared), then
 * pci_dev_restore() writes the saved config space back. -ENOTTY without a reset method.
 */
export function* pciTryResetFunction(pdev: PciDev): Thread<number> {
  if (!pdev.resetCapable) return -25;
  const saved = (yield* pdev.hw.read()).command;
  yield* setHw(pdev, { inReset: true, command: 0 });
  yield* setHw(pdev, { inReset: false, command: saved });
  return 0;
}

/** drivers/pci/pci.c: pci_reset_bus() — every function on the bus, as pci_try_reset_function(). */
export function* pciResetBus(pdevs: readonly PciDev[]): Thread<number> {
  const saved: number[] = [];
  for (const p of pdevs) saved.push((yield* p.hw.read()).command);
  for (const p of pdevs) yield* setHw(p, { inReset: true, command: 0 });
  for (let i = 0; i < pdevs.length; i++) yield* setHw(pdevs[i]!, { inReset: false, command: saved[i]! });
  return 0;
}
