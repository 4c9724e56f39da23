// A machine with one process and one pfnmap device file, for mm tests.

import type { File } from '../../../../src/kernel/fs/file.js';
import { Machine, type ThpSetting } from '../../../../src/kernel/machine.js';
import type { ArchName } from '../../../../src/kernel/mm/arch.js';
import { Mm } from '../../../../src/kernel/mm/mm.js';
import type { PhysKind, PhysRange } from '../../../../src/kernel/mm/phys.js';
import { pfnmapFile } from './pfnmap-driver.js';

export interface WorldOptions {
  arch?: ArchName;
  thp?: ThpSetting;
  /** Physical base address of the region (default 1 GiB-aligned at 0x38_0000_0000). */
  phys?: number;
  /** Region size in bytes (default 2 GiB). */
  size?: number;
  kind?: PhysKind;
  huge?: boolean;
}

export interface World {
  machine: Machine;
  mm: Mm;
  file: File;
  range: PhysRange;
  log: string[];
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
/** A 1 GiB-aligned user address. */
export const VA = 0x7f0000000000;

export function world(o: WorldOptions = {}): World {
  const machine = new Machine(o.arch ?? 'x86_64', o.thp ?? 'always');
  const phys = o.phys ?? 0x3800000000;
  const size = o.size ?? 2 * GiB;
  const range = machine.phys.add({
    pfn: phys / 4096,
    pages: size / 4096,
    kind: o.kind ?? 'mmio',
    owner: 'dev0/BAR0',
  });
  const log: string[] = [];
  const file = pfnmapFile('dev0', { basePfn: phys / 4096, pages: size / 4096, huge: o.huge ?? true, log });
  return { machine, mm: new Mm(machine, 'mm0'), file, range, log };
}
