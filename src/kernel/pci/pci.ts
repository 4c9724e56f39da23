// A PCI function as the model needs it (include/linux/pci.h, drivers/pci/pci.c): memory BARs
// backed by physical ranges, the hardware PCI_COMMAND register, the power state, and function
// reset. The hardware state is what decides whether an access to a BAR reaches the device.

import { Cell } from '../../sched/cell.js';
import type { Thread } from '../../sched/program.js';
import { IommuGroup, pciDevResetIommuDone, pciDevResetIommuPrepare } from '../iommu/iommu.js';
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
  /**
   * Not a BAR the function decodes but coherent device memory a variant driver exposes as an
   * emulated BAR (nvgrace-gpu's usemem and resmem, reached over the chip-to-chip link): no struct
   * pages, `size` is the memory's length (a page multiple, not necessarily a power of two), and
   * whether an access reaches it depends on the GPU being out of reset with its memory ready, not
   * on the command register (see `devmemServes()`).
   */
  deviceMemory?: boolean;
}

export interface PciDevSpec {
  name: string;
  bars: BarSpec[];
  /** An SR-IOV VF: no memory bit in its command register (pdev->no_command_memory). */
  noCommandMemory?: boolean;
  /** Supports function-level reset (pci_try_reset_function; VFIO's reset_works). Default true. */
  reset?: boolean;
  /**
   * The function supports ATS (pci_ats_supported()): from v7.0 a reset of it takes its IOMMU
   * group's mutex (pci_dev_reset_iommu_prepare()/done()). Default false.
   */
  ats?: boolean;
}

/**
 * include/linux/pci.h: struct pci_error_handlers, the part the model has: .reset_done, which the
 * PCI core calls after every function or bus reset of a device whose bound driver has one.
 */
export interface PciErrorHandlers {
  resetDone?(pdev: PciDev): Thread<void>;
}

export class PciBar {
  constructor(
    readonly index: number,
    readonly size: number,
    readonly phys: number,
    readonly range: PhysRange,
    /** Coherent device memory behind an emulated BAR (BarSpec.deviceMemory). */
    readonly deviceMemory = false,
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
  /**
   * Only on a device with coherent device memory (nvgrace-gpu): the memory is trained and its link
   * up, as the readiness registers in BAR0 report it. A reset takes it away; the model gives it
   * back at the latest moment the hardware may (see nvgraceGpuWaitDeviceReady()).
   */
  devmemReady?: boolean;
}

/** The hardware state as lspci would put it: `PCI_COMMAND=0x2 D0 enabled` (in reset, device memory ready). */
export function showHw(h: PciHw): string {
  const parts = [`PCI_COMMAND=0x${h.command.toString(16)}`, h.power, h.enabled ? 'enabled' : 'disabled'];
  if (h.inReset) parts.push('in reset');
  if (h.devmemReady !== undefined)
    parts.push(h.devmemReady ? 'device memory ready' : 'device memory not ready');
  return parts.join(' ');
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
  /** pci_ats_supported(): an ATS capability the IOMMU can use (the model's devices all sit behind an IOMMU). */
  readonly ats: boolean;
  /** dev->iommu_group: one group per function in the model. */
  readonly iommuGroup: IommuGroup;
  /** dev->driver->err_handler: set by the driver that binds the device (its probe). */
  errHandler: PciErrorHandlers | undefined;

  constructor(
    readonly machine: Machine,
    spec: PciDevSpec,
  ) {
    this.name = spec.name;
    this.noCommandMemory = spec.noCommandMemory ?? false;
    this.resetCapable = spec.reset ?? true;
    this.ats = spec.ats ?? false;
    for (const b of spec.bars) {
      if (b.index < 0 || b.index > 5) throw new Error(`${spec.name}: BAR index ${b.index} is not 0-5`);
      const range = machine.phys.add({
        pfn: Math.floor(b.phys / 4096),
        pages: Math.ceil(b.size / 4096),
        kind: b.structPages && !b.deviceMemory ? 'mmio-pages' : 'mmio',
        owner: `${spec.name}/BAR${b.index}`,
      });
      this.bars[b.index] = new PciBar(b.index, b.size, b.phys, range, b.deviceMemory ?? false);
    }
    // Firmware leaves memory decode on for a device with memory BARs; device memory was trained
    // at boot (the driver's probe polled its readiness before binding).
    const devmem = this.bars.some((b) => b?.deviceMemory);
    this.hw = new Cell<PciHw>(
      `${spec.name}.hw`,
      {
        command: PCI_COMMAND_MEMORY,
        power: 'D0',
        inReset: false,
        enabled: false,
        ...(devmem ? { devmemReady: true } : {}),
      },
      { show: showHw },
    );
    this.iommuGroup = new IommuGroup(spec.name);
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

  /** Whether the device has coherent device memory (whose readiness a reset takes away). */
  get hasDeviceMemory(): boolean {
    return this.hw.value.devmemReady !== undefined;
  }
}

/**
 * Does coherent device memory serve accesses in this state? It is not decoded by the function, so
 * the command register and the power state do not matter (the hardware answers ~0 and drops writes
 * while memory is disabled); it is unusable while the GPU is in reset and, after a reset, until the
 * memory is ready again (accessing it then logs RAS errors: a23b10608d42's reason).
 */
export function devmemServes(hw: PciHw): boolean {
  return !hw.inReset && hw.devmemReady !== false;
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
 * drivers/pci/pci.c: pci_try_reset_function() — pci_dev_save_and_disable() (the command register
 * is saved), __pci_reset_function_locked(), then pci_dev_restore() writes the saved config space
 * back. -ENOTTY without a reset method. (pci_dev_trylock() of the device lock and the config-access
 * lock is not modelled.) Where the reset method leaves the IOMMU alone (no ATS, or before v7.0),
 * the end of the reset and the restore are one event.
 */
export function* pciTryResetFunction(pdev: PciDev): Thread<number> {
  if (!pdev.resetCapable) return -25;
  const saved = (yield* pdev.hw.read()).command;
  const ret = yield* __pciResetFunctionLocked(pdev);
  yield* setHw(pdev, { inReset: false, command: saved });
  yield* pciDevRestore(pdev);
  return ret;
}

/** A reset takes device memory's readiness away (nothing for a device without device memory). */
const resetDevmem = (pdev: PciDev): Partial<PciHw> => (pdev.hasDeviceMemory ? { devmemReady: false } : {});

// drivers/pci/pci.c: pci_dev_restore() — after the config space is restored (the reset's last
// hardware write), the bound driver's err_handler->reset_done().
function* pciDevRestore(pdev: PciDev): Thread<void> {
  if (pdev.errHandler?.resetDone) yield* pdev.errHandler.resetDone(pdev);
}

// model-only: the GPU's memory finishes training after a reset (the hardware, while the driver's
// readiness poll sleeps: see nvgraceGpuWaitDeviceReady()).
export function* pciDevmemTrained(pdev: PciDev): Thread<void> {
  yield* setHw(pdev, { devmemReady: true });
}

/** Does a reset of this function call the IOMMU reset hooks, and do they do anything? */
const resetTakesIommu = (pdev: PciDev): boolean => pdev.machine.design.options.resetPreparesIommu && pdev.ats;

/**
 * drivers/pci/pci.c: __pci_reset_function_locked() — the first of dev->reset_methods[] that
 * applies; the model's devices have one, function-level reset (pcie_reset_flr() -> pcie_flr()).
 */
function* __pciResetFunctionLocked(pdev: PciDev): Thread<number> {
  return yield* pcieFlr(pdev);
}

/**
 * drivers/pci/pci.c: pcie_flr() — after the wait for pending transactions, v7.0 on calls
 * pci_dev_reset_iommu_prepare() (an error ends the reset); the FLR stops the device decoding and
 * clears its command register; the wait for the device to come back; then
 * pci_dev_reset_iommu_done(). Before v7.0 neither hook is called.
 */
function* pcieFlr(pdev: PciDev): Thread<number> {
  const hooks = pdev.machine.design.options.resetPreparesIommu;
  if (hooks) {
    const ret = yield* pciDevResetIommuPrepare(pdev);
    if (ret) return ret;
  }
  yield* setHw(pdev, { inReset: true, command: 0, ...resetDevmem(pdev) });
  // pci_dev_wait(): the device is back (its command register still clear, so it decodes nothing
  // until pci_dev_restore()). Without IOMMU work in between, the caller's restore is this event too.
  if (resetTakesIommu(pdev)) yield* setHw(pdev, { inReset: false });
  if (hooks) yield* pciDevResetIommuDone(pdev);
  return 0;
}

/**
 * drivers/pci/pci.c: pci_reset_bus() — every function on the bus, as pci_try_reset_function().
 * The slot and secondary-bus resets it does are not the reset methods that call
 * pci_dev_reset_iommu_prepare(), so no IOMMU group is touched.
 */
export function* pciResetBus(pdevs: readonly PciDev[]): Thread<number> {
  const saved: number[] = [];
  for (const p of pdevs) saved.push((yield* p.hw.read()).command);
  for (const p of pdevs) yield* setHw(p, { inReset: true, command: 0, ...resetDevmem(p) });
  for (let i = 0; i < pdevs.length; i++) yield* setHw(pdevs[i]!, { inReset: false, command: saved[i]! });
  // pci_bus_restore_locked() -> pci_dev_restore() for each device: its driver's reset_done().
  for (const p of pdevs) yield* pciDevRestore(p);
  return 0;
}
