// Resolving a scenario's names once its shape is valid: devices (with BARs a PCI device can have),
// processes and the threads in each, and handles. A handle (`as:`) belongs to the process it is
// created in; an operation that names a handle created by another thread waits for it (the
// interpreter uses a completion per handle), while one created in setup or earlier in the same
// thread is simply there. Names that nothing creates are load errors, with the nearest name.

import type { DesignName, DesignOptions } from '../designs/design.js';
import type { ThpSetting } from '../kernel/machine.js';
import type { ArchName } from '../kernel/mm/arch.js';
import { DRIVER_DESIGNS } from '../kernel/vfio/pci/driver-names.js';
import type { DeviceSpec } from '../uapi/system.js';
import { suggest } from './errors.js';
import { FD_KINDS, HANDLE_NAMES, type HandleKind, OPS, type ScenarioOp } from './ops.js';
import type { RawScenario } from './schema.js';

type Path = (string | number)[];

export interface ScenarioThread {
  name: string;
  process: string;
  ops: ScenarioOp[];
}

export interface ScenarioProcess {
  name: string;
  threads: string[];
  /**
   * `start`: exists when setup begins; `setup`: created by a fork in setup; `thread`: created by a
   * fork in a thread (its threads wait until it exists).
   */
  origin: 'start' | 'setup' | 'thread';
}

export interface Scenario {
  name: string;
  description?: string;
  file: string;
  source: string;
  /** lockChains only when the file declares some. */
  machine: { arch: ArchName; thp: ThpSetting; lockChains?: string[][] };
  devices: DeviceSpec[];
  design: { name: DesignName; options: Partial<DesignOptions> };
  /** In order: the first is where setup operations run unless they say `process:`. */
  processes: ScenarioProcess[];
  setup: ScenarioOp[];
  threads: ScenarioThread[];
  check: NonNullable<RawScenario['check']>;
  expect: { violations: string[]; exactly: boolean; designs?: Partial<Record<DesignName, string[]>> };
  /** `process/handle` pairs some operation waits for (each gets a completion). */
  waited: string[];
}

/** The operations' waits: per op (by identity), the `process/handle` keys it must wait for first. */
export const WAITS = new WeakMap<ScenarioOp, string[]>();

const PAGE = 4096;

export function resolveScenario(
  input: {
    file: string;
    source: string;
    raw: Omit<RawScenario, 'design'>;
    design: Scenario['design'];
    ops: Map<string, ScenarioOp[]>;
  },
  issue: (path: Path, message: string, suggestion?: string) => void,
  done: () => void,
): Scenario {
  const { raw } = input;
  const pathOf = (o: ScenarioOp, ...rest: Path): Path => [...parsePath(o.path), o.op, ...rest];

  // Devices: unique names, BARs a PCI function can have (power-of-two sizes of at least a page,
  // naturally aligned), no two BARs overlapping in physical memory.
  const devices: DeviceSpec[] = [];
  const claimed: { name: string; start: number; end: number }[] = [];
  raw.devices.forEach((d, i) => {
    if (devices.some((x) => x.name === d.name))
      issue(['devices', i, 'name'], `two devices named \`${d.name}\``);
    const seen = new Set<number>();
    const nvgrace = d.driver === 'nvgrace-gpu';
    if (nvgrace) nvgraceGpuBars(d.bars, ['devices', i], issue);
    d.bars.forEach((b, j) => {
      const at = ['devices', i, 'bars', j];
      if (seen.has(b.index)) issue([...at, 'index'], `BAR ${b.index} is listed twice`);
      seen.add(b.index);
      if (nvgrace && NVGRACE_MEMORY_REGIONS.includes(b.index)) {
        // Device memory behind an emulated BAR: its length and address, page-granular.
        if (b.size < PAGE || b.size % PAGE !== 0)
          issue([...at, 'size'], 'a device-memory size is a whole number of 4K pages (at least one)');
        if (b.phys % PAGE !== 0)
          issue([...at, 'phys'], `device memory starts on a page: ${hex(b.phys)} does not`);
      } else {
        if (b.size < PAGE || !isPow2(b.size))
          issue([...at, 'size'], 'a BAR size is a power of two of at least 4K');
        if (isPow2(b.size) && b.phys % b.size !== 0) {
          issue(
            [...at, 'phys'],
            `a BAR is naturally aligned: ${hex(b.phys)} is not a multiple of its size ${hex(b.size)}`,
          );
        }
      }
      const other = claimed.find((c) => b.phys < c.end && c.start < b.phys + b.size);
      if (other) issue([...at, 'phys'], `overlaps ${other.name} in physical memory`);
      claimed.push({ name: `${d.name} BAR${b.index}`, start: b.phys, end: b.phys + b.size });
    });
    const spec: DeviceSpec = {
      name: d.name,
      bars: d.bars.map((b) => ({
        index: b.index,
        size: b.size,
        phys: b.phys,
        structPages: b.structPages ?? false,
      })),
    };
    if (d.reset !== undefined) spec.reset = d.reset;
    if (d.noCommandMemory !== undefined) spec.noCommandMemory = d.noCommandMemory;
    if (d.ats !== undefined) spec.ats = d.ats;
    if (d.driver !== undefined) spec.driver = d.driver;
    devices.push(spec);
  });
  const deviceNames = devices.map((d) => d.name);
  // A driver modelled on some designs only: the file's own design must be one of them.
  for (const [i, d] of raw.devices.entries()) {
    const designs = d.driver ? DRIVER_DESIGNS[d.driver] : undefined;
    if (designs && !designs.includes(input.design.name)) {
      issue(
        ['devices', i, 'driver'],
        `the ${d.driver} driver is modelled on the designs ${designs.join(', ')} only, not on ${input.design.name}`,
      );
    }
  }

  // Processes and their threads.
  const threadNames = Object.keys(raw.threads);
  let declared = raw.processes ?? { main: threadNames };
  if (Object.keys(declared).length === 0) {
    issue(['processes'], 'name at least one process, or leave `processes` out for one process, `main`');
    declared = { main: threadNames };
  }
  const processOf = new Map<string, string>();
  for (const [p, ts] of Object.entries(declared)) {
    ts.forEach((t, i) => {
      if (!threadNames.includes(t)) {
        issue(['processes', p, i], `no thread named \`${t}\``, suggest(t, threadNames));
      } else if (processOf.has(t)) issue(['processes', p, i], `thread \`${t}\` is listed in two processes`);
      else processOf.set(t, p);
    });
  }
  const procNames = Object.keys(declared);
  for (const t of threadNames) if (!processOf.has(t)) processOf.set(t, procNames[0]!);
  const forkedIn = new Map<string, { thread: string | null; parent: string }>();
  const allOps: { op: ScenarioOp; thread: string | null; process: string }[] = [];
  for (const o of input.ops.get('setup') ?? []) {
    const p = o.process ?? procNames[0]!;
    if (!procNames.includes(p) && !forkedIn.has(p)) {
      issue(pathOf(o).slice(0, -1).concat('process'), `no process named \`${p}\``, suggest(p, procNames));
    }
    allOps.push({ op: o, thread: null, process: p });
    if (o.op === 'fork') forkedIn.set(o.args.as as string, { thread: null, parent: p });
  }
  for (const t of threadNames) {
    for (const o of input.ops.get(`threads.${t}`) ?? []) {
      allOps.push({ op: o, thread: t, process: processOf.get(t)! });
      if (o.op === 'fork') {
        const child = o.args.as as string;
        if (forkedIn.has(child)) issue(pathOf(o, 'as'), `process \`${child}\` is created twice`);
        forkedIn.set(child, { thread: t, parent: processOf.get(t)! });
      }
    }
  }
  const processes: ScenarioProcess[] = [];
  // A process listed in `processes` and also created by a fork is the fork's child.
  for (const p of new Set([...procNames, ...forkedIn.keys()])) {
    const f = forkedIn.get(p);
    processes.push({
      name: p,
      threads: threadNames.filter((t) => processOf.get(t) === p),
      origin: f === undefined ? 'start' : f.thread === null ? 'setup' : 'thread',
    });
  }
  const allProcs = processes.map((p) => p.name);

  // Handles: what each process may hold, with its kind, and what exists right after setup.
  const kinds = new Map<string, HandleKind>(); // `proc/handle` -> kind
  const afterSetup = new Set<string>(); // `proc/handle`
  const createdBy = new Map<string, string>(); // `proc/handle` -> where
  const declare = (
    proc: string,
    h: string,
    kind: HandleKind,
    o: ScenarioOp,
    field: string,
    inSetup: boolean,
  ) => {
    const key = `${proc}/${h}`;
    if (createdBy.has(key)) {
      issue(
        pathOf(o, field),
        `handle \`${h}\` is created twice in process ${proc} (first at ${createdBy.get(key)})`,
      );
      return;
    }
    createdBy.set(key, o.where);
    kinds.set(key, kind);
    if (inSetup) afterSetup.add(key);
  };
  const handlesOf = (proc: string) =>
    [...kinds.keys()].filter((k) => k.startsWith(`${proc}/`)).map((k) => k.slice(proc.length + 1));
  /** A fork copies the parent's handles known at that point: these sets, per child. */
  const inheritAt = (parent: string, child: string, local: Set<string>, inSetup: boolean) => {
    for (const key of [...kinds.keys()]) {
      if (!key.startsWith(`${parent}/`)) continue;
      const h = key.slice(parent.length + 1);
      if (!afterSetup.has(key) && !local.has(h)) continue;
      const ck = `${child}/${h}`;
      if (!kinds.has(ck)) kinds.set(ck, kinds.get(key)!);
      if (inSetup) afterSetup.add(ck);
      else inherited.add(ck);
    }
  };
  const inherited = new Set<string>(); // `child/handle` present when a thread-forked child starts

  // Pass 1: declarations (setup in order, then threads), with forks copying the parent's handles.
  const created = (o: ScenarioOp): { proc: string; kind: HandleKind } | null => {
    const spec = OPS[o.op];
    return spec.creates && spec.creates !== 'process' ? { proc: '', kind: spec.creates } : null;
  };
  for (const { op: o, thread, process } of allOps) {
    if (thread !== null) continue;
    const c = created(o);
    if (c)
      declare(o.op === 'send' ? (o.args.to as string) : process, o.args.as as string, c.kind, o, 'as', true);
    if (o.op === 'fork') inheritAt(process, o.args.as as string, new Set(), true);
  }
  /** The thread operation that makes each handle (`proc/handle`) or process (`proc:name`). */
  const madeBy = new Map<string, ScenarioOp>();
  for (const t of threadNames) {
    const proc = processOf.get(t)!;
    const local = new Set<string>();
    for (const o of input.ops.get(`threads.${t}`) ?? []) {
      const c = created(o);
      if (c) {
        const target = o.op === 'send' ? (o.args.to as string) : proc;
        declare(target, o.args.as as string, c.kind, o, 'as', false);
        madeBy.set(`${target}/${o.args.as as string}`, o);
        if (target === proc) local.add(o.args.as as string);
      }
      if (o.op === 'fork') {
        inheritAt(proc, o.args.as as string, local, false);
        madeBy.set(`proc:${o.args.as as string}`, o);
      }
    }
  }

  // Pass 2: uses. Each named handle must exist in the process, with the right kind; a wait is
  // needed unless it exists after setup, was inherited by a forked child, or was made earlier in
  // the same thread.
  const waited = new Set<string>();
  const checkOp = (o: ScenarioOp, proc: string, present: (h: string) => boolean) => {
    const spec = OPS[o.op];
    const waits: string[] = [];
    for (const [field, kind] of Object.entries(spec.uses)) {
      const v = o.args[field];
      if (v === undefined) continue;
      const list = Array.isArray(v) ? (v as string[]) : [v as string];
      list.forEach((h, i) => {
        const at = Array.isArray(v) ? pathOf(o, field, i) : pathOf(o, field);
        const key = `${proc}/${h}`;
        const k = kinds.get(key);
        if (!k) {
          const known = handlesOf(proc);
          issue(
            at,
            `no handle \`${h}\` in process ${proc}: nothing creates it with \`as: ${h}\``,
            suggest(h, known),
          );
        } else if (k !== kind && !(FD_KINDS.includes(k) && FD_KINDS.includes(kind))) {
          // Every kind of fd is an fd: the wrong kind of fd is the kernel's errno at run time.
          issue(at, `handle \`${h}\` is ${article(k)}, not ${article(kind)}`);
        } else if (!present(h)) {
          waits.push(key);
          waited.add(key);
        }
      });
    }
    if (o.op === 'open' || o.op === 'dma' || o.op === 'unbind') {
      const d = o.args.device as string;
      if (!deviceNames.includes(d)) {
        issue(pathOf(o, 'device'), `no device named \`${d}\``, suggest(d, deviceNames));
      }
    }
    if (o.op === 'send') {
      const to = o.args.to as string;
      if (!allProcs.includes(to)) issue(pathOf(o, 'to'), `no process named \`${to}\``, suggest(to, allProcs));
      else if (processes.find((p) => p.name === to)?.origin === 'thread') {
        waits.push(`proc:${to}`);
        waited.add(`proc:${to}`);
      }
    }
    if (o.op === 'map_dma') {
      const { ioas, container, backend } = o.args as { ioas?: string; container?: string; backend?: string };
      if ((ioas === undefined) === (container === undefined)) {
        issue(pathOf(o), 'map_dma needs exactly one of `ioas` (iommufd compat) or `container` (type1)');
      } else if (backend !== undefined && backend !== (container !== undefined ? 'type1' : 'iommufd')) {
        issue(
          pathOf(o, 'backend'),
          `backend ${backend} does not go with ${container !== undefined ? 'container' : 'ioas'}`,
        );
      }
    }
    if (waits.length > 0) WAITS.set(o, waits);
  };
  // Setup runs in order, before every thread: a handle it uses must be created earlier in setup.
  const setupOrder = new Set<string>();
  for (const { op: o, thread, process } of allOps) {
    if (thread !== null) continue;
    checkOp(o, process, () => true);
    // Setup runs before any thread: a process a thread's fork makes does not exist yet.
    for (const [field, p] of [
      ['process', o.process],
      ['to', o.op === 'send' ? (o.args.to as string) : undefined],
    ] as const) {
      if (p !== undefined && processes.find((x) => x.name === p)?.origin === 'thread') {
        issue(
          field === 'process' ? pathOf(o).slice(0, -1).concat('process') : pathOf(o, 'to'),
          `process \`${p}\` is made by a fork in a thread, after setup has run`,
        );
      }
    }
    for (const field of Object.keys(OPS[o.op].uses)) {
      const v = o.args[field];
      const list = v === undefined ? [] : Array.isArray(v) ? (v as string[]) : [v as string];
      for (const h of list) {
        if (!setupOrder.has(`${process}/${h}`) && kinds.has(`${process}/${h}`)) {
          issue(pathOf(o, field), `setup runs in order: \`${h}\` is created only later`);
        }
      }
    }
    const c = created(o);
    if (c) setupOrder.add(`${o.op === 'send' ? (o.args.to as string) : process}/${o.args.as as string}`);
    if (o.op === 'fork') {
      for (const key of setupOrder) {
        if (key.startsWith(`${process}/`))
          setupOrder.add(`${o.args.as as string}/${key.slice(process.length + 1)}`);
      }
    }
  }
  for (const t of threadNames) {
    const proc = processOf.get(t)!;
    const local = new Set<string>();
    for (const o of input.ops.get(`threads.${t}`) ?? []) {
      checkOp(
        o,
        proc,
        (h) => afterSetup.has(`${proc}/${h}`) || inherited.has(`${proc}/${h}`) || local.has(h),
      );
      const c = created(o);
      if (c && o.op !== 'send') local.add(o.args.as as string);
    }
  }
  const cycle = waitCycle(threadNames, processOf, forkedIn, input.ops, madeBy);
  if (cycle) issue(pathOf(cycle.op), cycle.message);
  done();

  const scenario: Scenario = {
    name: raw.name,
    file: input.file,
    source: input.source,
    machine: {
      arch: raw.machine?.arch ?? 'x86_64',
      thp: raw.machine?.thp ?? 'always',
      ...(raw.machine?.lockChains ? { lockChains: raw.machine.lockChains } : {}),
    },
    devices,
    design: input.design,
    processes,
    setup: input.ops.get('setup') ?? [],
    threads: threadNames.map((t) => ({
      name: t,
      process: processOf.get(t)!,
      ops: input.ops.get(`threads.${t}`) ?? [],
    })),
    check: raw.check ?? {},
    expect: {
      violations: raw.expect?.violations ?? [],
      exactly: raw.expect?.exactly ?? false,
      ...(raw.expect?.designs
        ? { designs: raw.expect.designs as Partial<Record<DesignName, string[]>> }
        : {}),
    },
    waited: [...waited].sort(),
  };
  if (raw.description !== undefined) scenario.description = raw.description;
  return scenario;
}

/**
 * A cycle of waits no schedule can satisfy: an operation waiting for a handle its own thread makes
 * only later, or threads each waiting for what the other makes after its wait (or a forked child's
 * thread, which starts at the fork, waiting for what the forking thread makes before it). Such a
 * scenario would stop in the scenario's own waits, before the kernel runs: a load error, not a
 * DEADLOCK. Returns the first operation of the cycle found and the cycle in words.
 */
function waitCycle(
  threadNames: string[],
  processOf: Map<string, string>,
  forkedIn: Map<string, { thread: string | null; parent: string }>,
  ops: Map<string, ScenarioOp[]>,
  madeBy: Map<string, ScenarioOp>,
): { op: ScenarioOp; message: string } | undefined {
  // Each thread operation happens after the operations listed here.
  const after = new Map<ScenarioOp, ScenarioOp[]>();
  const label = new Map<ScenarioOp, string>();
  for (const t of threadNames) {
    const list = ops.get(`threads.${t}`) ?? [];
    const fork = forkedIn.get(processOf.get(t)!);
    const forkOp = fork?.thread != null ? madeBy.get(`proc:${processOf.get(t)!}`) : undefined;
    list.forEach((o, i) => {
      label.set(o, `threads.${t}[${i}] (${o.op})`);
      const deps: ScenarioOp[] = [];
      if (i > 0) deps.push(list[i - 1]!);
      else if (forkOp) deps.push(forkOp);
      for (const w of WAITS.get(o) ?? []) {
        const m = madeBy.get(w);
        if (m) deps.push(m);
      }
      after.set(o, deps);
    });
  }
  const state = new Map<ScenarioOp, 1 | 2>(); // 1: on the path, 2: done
  const path: ScenarioOp[] = [];
  const visit = (o: ScenarioOp): ScenarioOp[] | undefined => {
    state.set(o, 1);
    path.push(o);
    for (const d of after.get(o) ?? []) {
      if (state.get(d) === 1) return path.slice(path.indexOf(d));
      if (state.get(d) === undefined) {
        const c = visit(d);
        if (c) return c;
      }
    }
    path.pop();
    state.set(o, 2);
    return undefined;
  };
  for (const o of after.keys()) {
    if (state.has(o)) continue;
    const c = visit(o);
    if (!c) continue;
    return {
      op: c[0]!,
      message: `these operations wait for each other, so no schedule runs them: ${c
        .map((x) => label.get(x))
        .join(
          ' waits for ',
        )} waits for ${label.get(c[0]!)} (a thread runs its operations in order; a use of a handle another thread makes waits for it)`,
    };
  }
  return undefined;
}

function parsePath(s: string): Path {
  const out: Path = [];
  for (const m of s.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** nvgrace-gpu's device-memory regions: resmem (BAR2, Grace Hopper only) and usemem (BAR4). */
const NVGRACE_MEMORY_REGIONS = [2, 4];
/** The highest readiness register nvgrace-gpu polls in BAR0 (HBM_TRAINING_BAR0_OFFSET). */
const NVGRACE_BAR0_MIN = 256 * 1024;

/**
 * What an nvgrace-gpu device's `bars` must be: BAR0 (the GPU's registers, at least 256K: the
 * driver polls its readiness registers up to BAR0 + 0x200BC), region 4 (usemem) and optionally
 * region 2 (resmem), and nothing at 1, 3 or 5, the upper halves of those three 64-bit BARs.
 */
function nvgraceGpuBars(
  bars: RawScenario['devices'][number]['bars'],
  at: Path,
  issue: (path: Path, message: string) => void,
): void {
  const upper: Record<number, string> = {
    1: 'BAR0 (the GPU registers)',
    3: 'emulated BAR2 (resmem)',
    5: 'emulated BAR4 (usemem)',
  };
  bars.forEach((b, j) => {
    const here = [...at, 'bars', j];
    if (upper[b.index]) {
      issue(
        [...here, 'index'],
        `nvgrace-gpu has no BAR${b.index}: it is the upper half of the 64-bit ${upper[b.index]}`,
      );
    }
    if (b.index === 0 && b.size < NVGRACE_BAR0_MIN) {
      issue(
        [...here, 'size'],
        'nvgrace-gpu reads its readiness registers at BAR0 + 0x1498 and + 0x200BC: BAR0 is at least 256K (the GPU has 16M)',
      );
    }
    if (NVGRACE_MEMORY_REGIONS.includes(b.index) && b.structPages) {
      issue(
        [...here, 'structPages'],
        'nvgrace-gpu device memory has no struct pages: the host does not online it, the driver maps it as PFNMAP',
      );
    }
  });
  if (!bars.some((b) => b.index === 0))
    issue(
      [...at, 'bars'],
      'an nvgrace-gpu device needs BAR0, its registers (`{ index: 0, size: 16M, phys: ... }`)',
    );
  if (!bars.some((b) => b.index === 4)) {
    issue(
      [...at, 'bars'],
      "an nvgrace-gpu device shows its memory as region 4 (usemem): add `{ index: 4, size: <memory length>, phys: <its address> }` (and region 2 for Grace Hopper's resmem)",
    );
  }
}

const isPow2 = (n: number): boolean => n > 0 && Number.isInteger(Math.log2(n));
const hex = (n: number): string => `0x${n.toString(16)}`;
const article = (k: HandleKind): string => HANDLE_NAMES[k];
