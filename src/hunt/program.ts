// A hunted program: the parts of a scenario the hunter generates, mutates and shrinks (devices,
// processes, a sequential setup, threads), written out as an ordinary scenario file and read back
// from one — the corpus and the findings are scenario files any `vdm` command takes.

import type { ArchName } from '../kernel/mm/arch.js';
import { parseScenario } from '../scenario/load.js';
import type { OpName } from '../scenario/ops.js';
import type { Scenario } from '../scenario/resolve.js';
import type { DeviceSpec } from '../uapi/system.js';
import { describeUapi } from './uapi.js';

export interface HuntOp {
  op: OpName;
  /** Argument values as the loader yields them: sizes in bytes, handle names, flags. */
  args: Record<string, unknown>;
  /** Setup only: the process it runs in, when not the first. */
  process?: string;
}

export interface HuntThread {
  name: string;
  process: string;
  ops: HuntOp[];
}

export interface HuntProgram {
  arch: ArchName;
  thp: 'always' | 'madvise' | 'never';
  devices: DeviceSpec[];
  /** Process names, the first where setup runs; one a `fork` names is created by it, the others exist from the start. */
  processes: string[];
  setup: HuntOp[];
  threads: HuntThread[];
}

/** What a written program says beyond its operations. */
export interface ProgramHeader {
  name: string;
  description?: string;
  design?: string | { name: string; [option: string]: unknown };
  check?: Record<string, unknown>;
  expect?: { violations: string[] };
}

const SIZE_ARGS = (() => {
  const m = new Map<string, Set<string>>();
  for (const o of describeUapi().ops) {
    const s = new Set<string>();
    for (const a of o.args) {
      if (a.domain.kind === 'size') s.add(a.name);
      if (a.domain.kind === 'list')
        for (const i of a.domain.item) if (i.domain.kind === 'size') s.add(`${a.name}.${i.name}`);
    }
    m.set(o.name, s);
  }
  return m;
})();

/** A size as a scenario spells it: 4K, 2M, 1G when whole, else hex (addresses), else decimal. */
export function sizeText(n: number): string {
  for (const [u, b] of [
    ['T', 2 ** 40],
    ['G', 2 ** 30],
    ['M', 2 ** 20],
    ['K', 2 ** 10],
  ] as const) {
    if (n >= b && n % b === 0 && n / b < 4096) return `${n / b}${u}`;
  }
  return n >= 0x10000 ? `0x${n.toString(16)}` : String(n);
}

function valueText(op: OpName, path: string, v: unknown): string {
  if (typeof v === 'number') return SIZE_ARGS.get(op)?.has(path) ? sizeText(v) : String(v);
  if (Array.isArray(v)) return `[ ${v.map((x) => valueText(op, path, x)).join(', ')} ]`;
  if (v !== null && typeof v === 'object') {
    const parts = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `${k}: ${valueText(op, `${path}.${k}`, x)}`,
    );
    return `{ ${parts.join(', ')} }`;
  }
  return String(v);
}

function opText(o: HuntOp): string {
  const args = Object.entries(o.args)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${valueText(o.op, k, v)}`);
  const call = `${o.op}: { ${args.join(', ')} }`;
  return o.process ? `- { ${call}, process: ${o.process} }` : `- ${call}`;
}

const yamlString = (s: string): string => JSON.stringify(s);

/** The program as a scenario file. */
export function programText(p: HuntProgram, h: ProgramHeader): string {
  const out: string[] = [`name: ${yamlString(h.name)}`];
  if (h.description) out.push(`description: ${yamlString(h.description)}`);
  out.push(`machine: { arch: ${p.arch}, thp: ${p.thp} }`, 'devices:');
  for (const d of p.devices) {
    const bars = d.bars.map(
      (b) =>
        `{ index: ${b.index}, size: ${sizeText(b.size)}, phys: 0x${b.phys.toString(16)}${b.structPages ? ', structPages: true' : ''} }`,
    );
    out.push(`  - name: ${d.name}`, `    bars: [ ${bars.join(', ')} ]`);
  }
  if (h.design !== undefined) {
    const d = h.design;
    out.push(
      typeof d === 'string'
        ? `design: ${d}`
        : `design: { ${Object.entries(d)
            .map(([k, v]) => `${k}: ${String(v)}`)
            .join(', ')} }`,
    );
  }
  if (p.processes.length > 1 || p.threads.some((t) => t.process !== p.processes[0])) {
    const procs = p.processes.map(
      (name) =>
        `${name}: [${p.threads
          .filter((t) => t.process === name)
          .map((t) => t.name)
          .join(', ')}]`,
    );
    out.push(`processes: { ${procs.join(', ')} }`);
  }
  if (p.setup.length > 0) {
    out.push('setup:');
    for (const o of p.setup) out.push(`  ${opText(o)}`);
  }
  out.push('threads:');
  for (const t of p.threads) {
    out.push(`  ${t.name}:`);
    for (const o of t.ops) out.push(`    ${opText(o)}`);
  }
  if (h.check) out.push(`check: ${valueText('open', '', h.check)}`);
  if (h.expect) out.push(`expect: { violations: [${h.expect.violations.join(', ')}] }`);
  return `${out.join('\n')}\n`;
}

/** The program of a loaded scenario (a corpus file, or any scenario a hunt starts from). */
export function programOf(sc: Scenario): HuntProgram {
  const strip = (o: { op: OpName; args: Record<string, unknown>; process?: string }): HuntOp => {
    const { expect: _e, ...args } = o.args;
    return o.process && o.process !== sc.processes[0]?.name
      ? { op: o.op, args, process: o.process }
      : { op: o.op, args };
  };
  return {
    arch: sc.machine.arch,
    thp: sc.machine.thp,
    devices: sc.devices.map((d) => ({ ...d, bars: d.bars.map((b) => ({ ...b })) })),
    processes: sc.processes.map((p) => p.name),
    setup: sc.setup.map(strip),
    threads: sc.threads.map((t) => ({ name: t.name, process: t.process, ops: t.ops.map(strip) })),
  };
}

/** Loads the program's text; a ScenarioError when the loader refuses it. */
export function loadProgram(p: HuntProgram, h: ProgramHeader, file = '<hunt>'): Scenario {
  return parseScenario(programText(p, h), file);
}

/** A deep copy to mutate. */
export function cloneProgram(p: HuntProgram): HuntProgram {
  return structuredClone(p);
}

/** Operations in all, setup included: the size a shrink minimises. */
export function programSize(p: HuntProgram): { threads: number; ops: number } {
  return { threads: p.threads.length, ops: p.setup.length + p.threads.reduce((n, t) => n + t.ops.length, 0) };
}
