// Generating and mutating programs from the uAPI description (docs/hunt.md, "Programs"): every
// handle an operation names exists in its process before it runs — made in the setup, inherited
// through a fork, or made earlier in the same thread — and values come from the pools that matter
// to the kernel's checks (page, 2 MiB and 1 GiB boundaries, the BAR's size, just past its end).

import type { HandleKind, OpName } from '../scenario/ops.js';
import type { DeviceSpec } from '../uapi/system.js';
import type { HuntOp, HuntProgram, HuntThread } from './program.js';
import type { Rng } from './rng.js';
import { type ArgDescription, describeUapi, type OpDescription, type SizeRole } from './uapi.js';

const K = 2 ** 10;
const M = 2 ** 20;
const G = 2 ** 30;

/** BAR sizes a generated device gets. */
export const BAR_SIZES = [4 * K, 16 * K, 64 * K, 2 * M, 4 * M, G] as const;
/** Addresses for `at` (MAP_FIXED) and `iova`: 1 GiB-, 2 MiB- and page-aligned, and just below a block. */
export const ADDRESSES = [
  0x7f0000000000, 0x7f0000200000, 0x7f0000001000, 0x7f00001ff000, 0x7f0040000000, 0x100000, 0x101000,
] as const;
/** Offsets: the start, a page in, the 2 MiB and 1 GiB boundaries (with each BAR's end, a page before it and just past it). */
export const OFFSETS = [0, 4 * K, 2 * M, G] as const;
/** Lengths: a word, a page, a 2 MiB block, two (with each BAR's size and a page past it). */
export const LENGTHS = [8, 4 * K, 2 * M, 4 * M] as const;
/** Values for counts (an fd limit): the low fds, and the default. */
const COUNTS = [0, 3, 4, 5, 1024] as const;

/** The name prefix of each kind of handle. */
const PREFIX: Record<HandleKind, string> = {
  fd: 'fd',
  map: 'm',
  iommufd: 'ictx',
  ioas: 'io',
  importer: 'imp',
  container: 'ctr',
  process: 'p',
};

export interface GenerateOptions {
  /** Threads: 2 to this many (default 4). */
  maxThreads?: number;
  /** Operations per thread: 1 to this many (default 3). */
  maxOps?: number;
  /** Processes: 1 to this many (default 2). */
  maxProcesses?: number;
}

/** Where an operation goes: the setup (of a process) or a thread, before its op number `index`. */
type Place = { setup: true; process: string } | { setup: false; thread: HuntThread; index: number };

interface Handle {
  name: string;
  kind: HandleKind;
}

const OPS_BY_NAME = new Map(describeUapi().ops.map((o) => [o.name, o]));

function desc(op: OpName): OpDescription {
  const d = OPS_BY_NAME.get(op);
  if (!d) throw new Error(`no description of ${op}`);
  return d;
}

/** What creates each kind of handle. */
const CREATORS = (() => {
  const m = new Map<HandleKind, OpDescription[]>();
  for (const o of describeUapi().ops) if (o.creates) m.set(o.creates, [...(m.get(o.creates) ?? []), o]);
  return m;
})();

/** Builds operations into a program, keeping every handle defined before its use. */
class Builder {
  private counter = 0;
  constructor(
    readonly p: HuntProgram,
    private readonly rng: Rng,
  ) {
    for (const n of allNames(p)) {
      const m = /(\d+)$/.exec(n);
      if (m) this.counter = Math.max(this.counter, Number(m[1]));
    }
  }

  fresh(kind: HandleKind): string {
    return `${PREFIX[kind]}${++this.counter}`;
  }

  /** The process a fork in the setup or a thread created, with where its inheritance ends. */
  private forkOf(process: string): { parent: string; setupIndex?: number } | undefined {
    const i = this.p.setup.findIndex((o) => o.op === 'fork' && o.args.as === process);
    if (i >= 0) return { parent: this.p.setup[i]!.process ?? this.p.processes[0]!, setupIndex: i };
    for (const t of this.p.threads)
      if (t.ops.some((o) => o.op === 'fork' && o.args.as === process)) return { parent: t.process };
    return undefined;
  }

  /** Handles a process has from the setup (its own, and those inherited through a fork). */
  setupHandles(process: string, before = this.p.setup.length, depth = 0): Handle[] {
    const out: Handle[] = [];
    const fork = depth < 4 ? this.forkOf(process) : undefined;
    if (fork)
      out.push(...this.setupHandles(fork.parent, Math.min(before, fork.setupIndex ?? before), depth + 1));
    for (let i = 0; i < before; i++) {
      const o = this.p.setup[i]!;
      const d = desc(o.op);
      if ((o.process ?? this.p.processes[0]) === process && d.creates && d.creates !== 'process')
        out.push({ name: String(o.args.as), kind: d.creates });
      if (o.op === 'send' && o.args.to === process) out.push({ name: String(o.args.as), kind: 'fd' });
    }
    return out;
  }

  /** Does the process exist during the setup (not forked by a thread)? */
  existsInSetup(process: string): boolean {
    const f = this.forkOf(process);
    return !f || f.setupIndex !== undefined;
  }

  visible(place: Place): Handle[] {
    if (place.setup) return this.setupHandles(place.process);
    const out = this.existsInSetup(place.thread.process) ? this.setupHandles(place.thread.process) : [];
    if (!this.existsInSetup(place.thread.process)) {
      const f = this.forkOf(place.thread.process);
      if (f) out.push(...this.setupHandles(f.parent));
    }
    for (let i = 0; i < place.index; i++) {
      const o = place.thread.ops[i]!;
      const d = desc(o.op);
      if (o.op === 'send' && o.args.to !== place.thread.process) continue;
      if (d.creates && d.creates !== 'process') out.push({ name: String(o.args.as), kind: d.creates });
    }
    return out;
  }

  /** Inserts `op` (and what it needs) at `place`; false when it cannot be built there. */
  add(op: OpDescription, place: Place, depth = 0): boolean {
    const built = this.build(op, place, depth);
    if (!built) return false;
    if (place.setup)
      this.p.setup.push(place.process === this.p.processes[0] ? built : { ...built, process: place.process });
    else place.thread.ops.splice(place.index, 0, built);
    return true;
  }

  private build(op: OpDescription, place: Place, depth: number): HuntOp | undefined {
    const args: Record<string, unknown> = {};
    // Several optional handles (map_dma's `ioas` or `container`) are alternatives: name one.
    const alternatives = op.args.filter((a) => a.optional && a.domain.kind === 'handle');
    const chosen = alternatives.length > 1 ? this.rng.pick(alternatives) : undefined;
    for (const a of op.args) {
      if (chosen && alternatives.includes(a)) {
        if (a !== chosen) continue;
      } else if (a.optional && a.domain.kind !== 'new' && this.rng.chance(0.5)) continue;
      const v = this.value(a, place, depth, op);
      if (v === undefined) {
        if (a.optional) continue;
        return undefined;
      }
      args[a.name] = v;
    }
    if (op.name === 'fork') this.p.processes.push(String(args.as));
    return { op: op.name, args };
  }

  /** A handle of `kind` visible at `place`, made first when there is none (or by chance). */
  private handle(kind: HandleKind, place: Place, depth: number): string | undefined {
    const have = this.visible(place).filter((h) => h.kind === kind);
    if (have.length > 0 && (depth >= 3 || !this.rng.chance(0.1))) return this.rng.pick(have).name;
    if (depth >= 3) return undefined;
    // A fork makes a process, a send an fd in another process: neither makes a handle here.
    const creators = (CREATORS.get(kind) ?? []).filter((c) => c.name !== 'fork' && c.name !== 'send');
    if (creators.length === 0) return undefined;
    // A VFIO device fd is what most fds are: open it more often than the other fd makers.
    const c = kind === 'fd' && this.rng.chance(0.6) ? desc('open') : this.rng.pick(creators);
    const procOf = place.setup ? place.process : place.thread.process;
    const where: Place =
      place.setup || (this.existsInSetup(procOf) && this.rng.chance(0.8))
        ? { setup: true, process: procOf }
        : place;
    const made = this.build(c, where, depth + 1);
    if (!made || typeof made.args.as !== 'string') return undefined;
    if (where.setup) {
      // After what it needed, which building it put at the end of the setup.
      this.p.setup.push(where.process === this.p.processes[0] ? made : { ...made, process: where.process });
    } else {
      where.thread.ops.splice(where.index, 0, made);
      where.index++;
    }
    return made.args.as;
  }

  private value(a: ArgDescription, place: Place, depth: number, op: OpDescription): unknown {
    const d = a.domain;
    switch (d.kind) {
      case 'handle':
        return this.handle(d.handle, place, depth);
      case 'handles': {
        const n = this.rng.int(1, 2);
        const out: string[] = [];
        for (let i = 0; i < n; i++) {
          const h = this.handle(d.handle, place, depth);
          if (h !== undefined && !out.includes(h)) out.push(h);
        }
        return out.length > 0 ? out : undefined;
      }
      case 'new':
        return this.fresh(d.creates);
      case 'device':
        return this.rng.pick(this.p.devices).name;
      case 'process':
        return this.rng.pick(this.p.processes);
      case 'size':
        return this.rng.pick(sizePool(d.role, this.p.devices));
      case 'int':
        if (d.role === 'region') {
          const bars = [...new Set(this.p.devices.flatMap((x) => x.bars.map((b) => b.index)))];
          return this.rng.chance(0.9) ? this.rng.pick(bars) : this.rng.int(d.min, d.max);
        }
        return this.rng.pick(COUNTS.filter((c) => c >= d.min && c <= d.max));
      case 'bool':
        return this.rng.chance(0.5);
      case 'enum':
        return this.rng.pick(d.values);
      case 'list': {
        const n = this.rng.int(1, 2);
        const out: Record<string, unknown>[] = [];
        for (let i = 0; i < n; i++) {
          const item: Record<string, unknown> = {};
          for (const f of d.item) item[f.name] = this.value(f, place, depth, op);
          out.push(item);
        }
        return out;
      }
    }
  }
}

/** Every name a program uses for a handle or process. */
function allNames(p: HuntProgram): string[] {
  const out = [...p.processes];
  for (const o of [...p.setup, ...p.threads.flatMap((t) => t.ops)])
    if (typeof o.args.as === 'string') out.push(o.args.as);
  return out;
}

/** The values a size argument of `role` takes in a program with these devices, ascending. */
export function sizePool(role: SizeRole, devices: readonly DeviceSpec[]): number[] {
  if (role === 'address') return [...ADDRESSES].sort((x, y) => x - y);
  const s = new Set<number>(role === 'offset' ? OFFSETS : LENGTHS);
  for (const d of devices)
    for (const b of d.bars) {
      const near = role === 'offset' ? [b.size - 4 * K, b.size] : [b.size, b.size + 4 * K];
      for (const v of near) if (v > 0) s.add(v);
    }
  return [...s].sort((x, y) => x - y);
}

function device(rng: Rng, i: number): DeviceSpec {
  const bars = [{ index: 0, size: rng.pick(BAR_SIZES), phys: 0x3800000000 + i * 0x200000000 }];
  if (rng.chance(0.15))
    bars.push({ index: 2, size: rng.pick(BAR_SIZES), phys: 0x3800000000 + i * 0x200000000 + G });
  const d: DeviceSpec = { name: `gpu${i}`, bars };
  if (rng.chance(0.1)) for (const b of bars) (b as { structPages?: boolean }).structPages = true;
  return d;
}

/** The operations a thread may run (all that are described: fork included). */
const OP_CHOICES = describeUapi().ops;

/** A new random program: devices, 2-4 threads of 1-3 operations, what they need in the setup. */
export function generateProgram(rng: Rng, o: GenerateOptions = {}): HuntProgram {
  const maxThreads = Math.max(1, o.maxThreads ?? 4);
  const nThreads = Math.min(maxThreads, 2 + rng.weighted([5, 3, 2]));
  const nDevices = rng.chance(0.75) ? 1 : 2;
  const p: HuntProgram = {
    arch: rng.pick(['x86_64', 'x86_64', 'x86_64', 'x86_64', 'x86_64', 'x86_64', 'arm64', 'x86_64-nospecial']),
    thp: rng.pick(['always', 'always', 'always', 'always', 'madvise', 'never']),
    devices: Array.from({ length: nDevices }, (_, i) => device(rng, i)),
    processes: ['main'],
    setup: [],
    threads: [],
  };
  const b = new Builder(p, rng);
  if ((o.maxProcesses ?? 2) > 1 && rng.chance(0.1)) p.processes.push('other');
  for (let t = 0; t < nThreads; t++) {
    const thread: HuntThread = { name: `t${t}`, process: rng.pick(p.processes), ops: [] };
    p.threads.push(thread);
    const n = rng.int(1, Math.max(1, o.maxOps ?? 3));
    for (let i = 0; i < n; i++) addRandomOp(b, rng, { setup: false, thread, index: thread.ops.length });
  }
  // A process a fork makes may get a thread of its own, running on what it inherited.
  for (const proc of p.processes.slice(1)) {
    if (p.threads.some((t) => t.process === proc) || (o.maxProcesses ?? 2) < 2) continue;
    if (!rng.chance(0.7)) continue;
    const thread: HuntThread = { name: `t${p.threads.length}`, process: proc, ops: [] };
    p.threads.push(thread);
    addRandomOp(b, rng, { setup: false, thread, index: 0 });
  }
  // Sometimes one more setup step (a populating load, an export...) before the threads start.
  if (rng.chance(0.4)) addRandomOp(b, rng, { setup: true, process: p.processes[0]! });
  p.threads = p.threads.filter((t) => t.ops.length > 0);
  return p;
}

function addRandomOp(b: Builder, rng: Rng, place: Place): boolean {
  for (let tries = 0; tries < 8; tries++) {
    const op = rng.pick(OP_CHOICES);
    if (op.name === 'fork' && b.p.processes.length >= 2) continue;
    if (b.add(op, place)) return true;
  }
  return false;
}

/** The mutations `mutate` chooses from (docs/hunt.md). */
export const MUTATIONS = ['add', 'remove', 'swap', 'value', 'move', 'bar'] as const;

/** One to three random changes of a corpus program. */
export function mutateProgram(src: HuntProgram, rng: Rng): { program: HuntProgram; how: string[] } {
  const p = structuredClone(src);
  const b = new Builder(p, rng);
  const how: string[] = [];
  const n = rng.int(1, 3);
  for (let i = 0; i < n; i++) {
    const m = rng.pick(MUTATIONS);
    const t = p.threads.length > 0 ? rng.pick(p.threads) : undefined;
    switch (m) {
      case 'add': {
        if (!t || t.ops.length >= 5) break;
        if (addRandomOp(b, rng, { setup: false, thread: t, index: rng.int(0, t.ops.length) }))
          how.push('add');
        break;
      }
      case 'remove': {
        if (!t || t.ops.length === 0) break;
        t.ops.splice(rng.int(0, t.ops.length - 1), 1);
        how.push('remove');
        break;
      }
      case 'swap': {
        if (!t || t.ops.length < 2) break;
        const j = rng.int(0, t.ops.length - 2);
        [t.ops[j], t.ops[j + 1]] = [t.ops[j + 1]!, t.ops[j]!];
        how.push('swap');
        break;
      }
      case 'value': {
        const ops = [...p.setup, ...p.threads.flatMap((x) => x.ops)];
        if (ops.length === 0) break;
        const o = rng.pick(ops);
        const args = desc(o.op).args.filter((a) => ['size', 'bool', 'enum', 'int'].includes(a.domain.kind));
        if (args.length === 0) break;
        const a = rng.pick(args);
        const d = a.domain;
        o.args[a.name] =
          d.kind === 'size'
            ? rng.pick(sizePool(d.role, p.devices))
            : d.kind === 'bool'
              ? !o.args[a.name]
              : d.kind === 'enum'
                ? rng.pick(d.values)
                : d.kind === 'int' && d.role === 'region'
                  ? rng.pick([0, 2, d.max])
                  : rng.pick(COUNTS.filter((c) => d.kind === 'int' && c >= d.min && c <= d.max));
        how.push('value');
        break;
      }
      case 'move': {
        if (!t || t.ops.length === 0 || p.threads.length < 2) break;
        const others = p.threads.filter((x) => x !== t && x.process === t.process);
        if (others.length === 0) break;
        const other = rng.pick(others);
        const [o] = t.ops.splice(rng.int(0, t.ops.length - 1), 1);
        other.ops.splice(rng.int(0, other.ops.length), 0, o!);
        how.push('move');
        break;
      }
      case 'bar': {
        const d = rng.pick(p.devices);
        const bar = rng.pick(d.bars);
        bar.size = rng.pick(BAR_SIZES);
        how.push('bar');
        break;
      }
    }
  }
  if (p.threads.length < 3 && rng.chance(0.15)) {
    const thread: HuntThread = { name: freshThreadName(p), process: p.processes[0]!, ops: [] };
    p.threads.push(thread);
    if (addRandomOp(b, rng, { setup: false, thread, index: 0 })) how.push('thread');
  }
  p.threads = p.threads.filter((x) => x.ops.length > 0);
  return { program: p, how };
}

function freshThreadName(p: HuntProgram): string {
  for (let i = p.threads.length; ; i++) if (!p.threads.some((t) => t.name === `t${i}`)) return `t${i}`;
}
