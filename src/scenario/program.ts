// A scenario as an explorable Program: setup() builds the System for the design, runs the setup
// operations atomically and creates a completion for each handle some thread waits for; each
// scenario thread runs its operations through the uapi layer (src/uapi/syscalls.ts), returning to
// user space after each (deferred fputs run there), and compares each outcome with its `expect`.
// The invariants of src/invariants/system.ts are checked after every event and at every access.

import { type Design, designLockChains, designOf } from '../designs/design.js';
import { INVARIANT_IDS, StateCheck, watchSystem } from '../invariants/system.js';
import type { Importer } from '../kernel/dma-buf/importer.js';
import type { UserfaultfdCtx } from '../kernel/fs/userfaultfd.js';
import type { Ioas } from '../kernel/iommufd/iommufd.js';
import { modelLockClass } from '../kernel/lock-classes.js';
import { PAGE_SIZE } from '../kernel/mm/arch.js';
import type { Vma } from '../kernel/mm/mm_types.js';
import type { PowerState } from '../kernel/pci/pci.js';
import type { Mark } from '../report/record.js';
import { runAtomically, SetupBlocks } from '../sched/atomic.js';
import { Completion } from '../sched/completion.js';
import { currentHost, type Prim } from '../sched/prim.js';
import type { CheckedEvent, Program, Thread } from '../sched/program.js';
import { Violation, Violations } from '../sched/violation.js';
import { outcomeOf } from '../uapi/errno.js';
import * as sys from '../uapi/syscalls.js';
import { type Process, System } from '../uapi/system.js';
import type { ScenarioOp } from './ops.js';
import { PageTableRecorder } from './recorder.js';
import { type Scenario, WAITS } from './resolve.js';
import { ScenarioScopes } from './scopes.js';

/**
 * What a name holds at run time. Every kind of fd (device, dma-buf, iommufd, container) is an `fd`:
 * the syscall given it finds out what the file is, and answers with the kernel's errno when it is
 * the wrong kind.
 */
export type Handle =
  | { kind: 'fd'; fd: number }
  | { kind: 'map'; addr: number; length: number; uffd?: UserfaultfdCtx }
  | { kind: 'ioas'; v: Ioas }
  | { kind: 'importer'; v: Importer }
  /** The operation that was to create it failed: using it behaves like passing -1 / MAP_FAILED. */
  | { kind: 'failed'; outcome: string };

export interface ScenarioProc {
  proc: Process | null;
  handles: Map<string, Handle>;
}

/** The state of one execution of a scenario. */
export interface World {
  sys: System;
  procs: Map<string, ScenarioProc>;
  /** `process/handle` and `proc:name` -> the completion its creator completes. */
  waits: Map<string, Completion>;
  /** An `expect` that failed in setup: raised at the first check. */
  pending: Violation | null;
  /** Recording for reports (replays only): marks between events, and the page-table recorder. */
  marks: Mark[] | null;
  recorder: PageTableRecorder | null;
  /** Events run so far (counted by the invariant, which runs after each): where marks go. */
  events: number;
  /** The state rules, checked where each event can have changed what they read. */
  check: StateCheck;
  /** Invariant ids raised in this execution (each is reported once). */
  raised: Set<string>;
  /** Processes whose fd table two or more threads share (Process.sharedFiles). */
  sharing: ReadonlySet<string>;
  /** A setup step slept for ever (a DEADLOCK is pending): the threads never start. */
  setupStuck: boolean;
}

export interface ProgramOptions {
  /** Replaces the scenario's design (and its options). */
  design?: Design;
  /** Record marks for a report (op begin/end, leaf set/clear, revoke). */
  record?: boolean;
  /**
   * Check the whole system after every event too, and fail (an `error`) when it finds a violation
   * the incremental check missed: for the tests of the incremental check.
   */
  verifyIncremental?: boolean;
}

/** The design a scenario runs on: its own, or the one given. */
export function scenarioDesign(sc: Scenario, o: ProgramOptions = {}): Design {
  return o.design ?? designOf(sc.design.name, sc.design.options);
}

/** The ids checked: `check.invariants`, or all. */
export function checkedIds(sc: Scenario): Set<string> {
  const inv = sc.check.invariants;
  return new Set(inv === undefined || inv === 'all' ? INVARIANT_IDS : inv);
}

/**
 * A scenario's program, with what its setup did that the file did not ask for: each setup
 * operation that returned something other than `ok` without an `expect:` (the same in every
 * execution: setup runs atomically, before any thread), for the report.
 */
export type ScenarioProgram = Program<World> & { readonly setupWarnings: string[] };

export function scenarioProgram(sc: Scenario, o: ProgramOptions = {}): ScenarioProgram {
  const design = scenarioDesign(sc, o);
  const enabled = checkedIds(sc);
  const scopes = new ScenarioScopes(sc);
  const threads: Program<World>['threads'] = {};
  for (const t of sc.threads) {
    const proc = sc.processes.find((p) => p.name === t.process)!;
    threads[t.name] = function* (w: World): Thread<void> {
      // A setup that never finished never started the threads.
      if (w.setupStuck) return;
      if (proc.origin === 'thread') yield* w.waits.get(`proc:${proc.name}`)!.wait();
      for (const op of t.ops) yield* runOp(w, t.process, op, t.name);
    };
  }
  /**
   * Processes whose fd table several threads share and one of them can close an fd in
   * (Process.sharedFiles). Without a close in another thread nothing can take an fd's file away
   * from a syscall that looked it up, so the reference fdget() takes on a shared table changes no
   * outcome: the model borrows the file there and spares the search those events (docs/uapi.md).
   */
  const sharing = new Set(
    sc.processes
      .filter((p) => {
        const ts = sc.threads.filter((t) => t.process === p.name);
        return ts.length >= 2 && ts.some((t) => t.ops.some((o) => o.op === 'close'));
      })
      .map((p) => p.name),
  );
  const setupWarnings: string[] = [];
  const warn = (m: string): void => {
    if (!setupWarnings.includes(m)) setupWarnings.push(m);
  };
  return {
    setupWarnings,
    name: sc.name,
    lockChains: [...designLockChains(design), ...(sc.machine.lockChains ?? [])].map((chain) =>
      chain.map(modelLockClass),
    ),
    setup(): World {
      const s = new System({ arch: sc.machine.arch, thp: sc.machine.thp, design, devices: sc.devices });
      watchSystem(s, enabled);
      const w: World = {
        sys: s,
        procs: new Map(),
        waits: new Map(),
        pending: null,
        marks: o.record ? [] : null,
        recorder: o.record ? new PageTableRecorder() : null,
        events: 0,
        check: new StateCheck(s, enabled),
        raised: new Set(),
        sharing,
        setupStuck: false,
      };
      for (const p of sc.processes) {
        w.procs.set(p.name, { proc: p.origin === 'start' ? s.spawn(p.name) : null, handles: new Map() });
        if (p.origin === 'thread') w.waits.set(`proc:${p.name}`, new Completion(`proc ${p.name}`));
      }
      for (const key of sc.waited) {
        if (!w.waits.has(key)) w.waits.set(key, new Completion(`handle ${key}`));
      }
      for (const op of sc.setup) {
        try {
          runAtomically(runOp(w, op.process ?? sc.processes[0]!.name, op, 'setup', warn));
        } catch (e) {
          if (e instanceof SetupBlocks) {
            // The kernel would sleep here for ever: nothing runs beside setup to wake it.
            w.pending ??= new Violation(
              'DEADLOCK',
              `setup never finishes: ${opText(op)} (${op.where}) sleeps — ${e.message.replace(/^setup: /, '')} — and setup runs before any thread that could wake it`,
            );
            w.setupStuck = true;
            break;
          }
          if (!(e instanceof Violation)) throw e;
          w.pending ??= e;
        }
      }
      // The threads start: a process that runs two or more shares its fd table among them.
      for (const [name, pr] of w.procs) if (pr.proc && sharing.has(name)) pr.proc.sharedFiles = true;
      w.recorder?.observe(w);
      return w;
    },
    threads,
    observesObject: invariantReads,
    readOnlySections: sc.check.readOnlySections !== false,
    // What the kernel model shares outside sched objects (lists, trees, counts, kept under the
    // locks that guard them) and what the checks remember: a state is all of it (loop.ts). The
    // event counter and the report recorders are bookkeeping that never changes what runs; of the
    // incremental state check only what it has still to look at counts (StateCheck.pending), not
    // the tables it keeps between checks. Nor do the ids this execution has already reported
    // (w.raised): they decide only whether a violation found again is reported again, never what
    // a thread does, and a state folded onto one met with other ids reported loses no id (an id
    // the earlier visit left unreported below it was reported on the way there).
    sharedState: (w: World) => [w.sys, w.procs, w.waits, w.check.pending(), w.pending, w.setupStuck],
    scopeOf: scopes.scopeOf,
    scopesRelated: scopes.related,
    invariant(w: World, after?: CheckedEvent): void {
      w.events++;
      if (w.pending) {
        const v = w.pending;
        w.pending = null;
        throw v;
      }
      w.recorder?.observe(w);
      const owner = after?.write && invariantReads(after.obj) ? scopes.owner(after.obj.name) : null;
      const found = after ? w.check.after(owner) : w.check.all();
      if (found.length === 0 && !o.verifyIncremental) return;
      if (o.verifyIncremental && after) {
        const all = new StateCheck(w.sys, enabled, false).all();
        const seen = new Set(found.map((v) => v.id));
        const missed = all.find((v) => !seen.has(v.id) && !w.raised.has(v.id));
        if (missed)
          throw new Error(
            `incremental check missed ${missed.id} after ${after.write ? 'a write to' : 'a read of'} ${after.obj.name}: ${missed.message}`,
          );
      }
      const fresh: Violation[] = [];
      for (const v of found) {
        if (w.raised.has(v.id)) continue;
        w.raised.add(v.id);
        fresh.push(v);
      }
      if (fresh.length === 1) throw fresh[0]!;
      if (fresh.length > 1) throw new Violations(fresh);
    },
  };
}

/**
 * The objects the invariants of src/invariants/system.ts read, so the explorer orders writes to
 * them (and only them) against each other. Everything is observed except objects no invariant
 * reads — reference counts and completions (REFCOUNT and USE_AFTER_FREE are raised by the code
 * that breaks them, at the event; a file's f_count also records its free), dentry counts, the
 * dma-buf's file pointer (read by VFIO's walks with the annul fix), the freed flag, the fd
 * table's file_lock, the driver core's device_lock and bound-driver pointer, the TLB handshake and the page-table locks (the
 * tables themselves are observed), open counts and dev_set locks, claimed barmaps, and the
 * interpreter's own handle and process completions; nvgrace-gpu's reset_done flag and remap_lock;
 * a dma-buf's reservation lock (what the invariants read under it — the exporter's revoked word,
 * an importer's mapping — are objects of their own, so a read-only section such as a fault's check
 * orders nothing for them).
 */
const UNREAD =
  /(\.refcount|\.fdtable|\.file_lock|\.device_lock|\.driver|\.f_count|\.d_lockref|\.dmabuf_file|\.kref|\.comp|\.freed|\.dev_set\.lock|\.barmap|\.tlb|\.page_table_lock|\.ptl@\w+|\.pmd_lock@\w+|\.fault_wqh@\w+|\.reset_done|\.remap_lock|\.resv)$|^(handle|proc) /;
const readsByName = new Map<string, boolean>();
export function invariantReads(p: Prim): boolean {
  // Asked for every object every execution: the answer for a name never changes.
  let r = readsByName.get(p.name);
  if (r === undefined) {
    r = !UNREAD.test(p.name);
    if (readsByName.size < 100_000) readsByName.set(p.name, r);
  }
  return r;
}

function mark(w: World, m: Omit<Mark, 'after'>): void {
  w.marks?.push({ after: currentHost()?.eventCount ?? w.events, ...m });
}

/** One scenario operation in process `pname`, by `thread`: waits, the syscall, the return to user space. */
function* runOp(
  w: World,
  pname: string,
  o: ScenarioOp,
  thread: string,
  /** Setup only: told of an outcome other than `ok` that no `expect:` asked for. */
  warn?: (message: string) => void,
): Thread<void> {
  for (const key of WAITS.get(o) ?? []) yield* w.waits.get(key)!.wait();
  const pr = w.procs.get(pname)!;
  const p = pr.proc!;
  const a = o.args as Record<string, unknown>;
  const text = opText(o);
  if (w.marks) mark(w, { thread, kind: 'op-begin', text, data: { op: o.op, args: argsText(a) } });
  const ret = yield* call(w, pr, p, o, thread);
  yield* p.fdput();
  yield* sys.exitToUserModeLoop();
  const outcome = outcomeOf(ret as number);
  if (w.marks) {
    mark(w, {
      thread,
      kind: 'op-end',
      text: `${o.op} = ${outcome}`,
      data: { op: o.op, outcome, ...(a.expect !== undefined ? { expected: a.expect as string } : {}) },
    });
  }
  const expected = a.expect as string | undefined;
  if (warn && expected === undefined && outcome !== 'ok') {
    warn(`setup: ${text} returned ${outcome} (${o.where}), and no expect: says so`);
  }
  if (expected !== undefined && expected !== 'any' && expected !== outcome) {
    throw new Violation(
      'EXPECT',
      `${thread}: ${text} returned ${outcome}, expected ${expected} (${o.where})`,
    );
  }
}

/** The syscall behind an operation; creates its handle. Returns what the kernel returned. */
/** A handle of the process that is an fd, of any kind (-1 otherwise: the syscall then fails with EBADF). */
function fdOf(pr: ScenarioProc, h: string): number {
  const x = pr.handles.get(h);
  return x?.kind === 'fd' ? x.fd : -1;
}

function mapOf(pr: ScenarioProc, h: string): { addr: number; length: number; uffd?: UserfaultfdCtx } {
  const x = pr.handles.get(h);
  return x?.kind === 'map' ? x : { addr: 0, length: 0 };
}

function objOf<K extends Handle['kind']>(
  pr: ScenarioProc,
  h: string,
  kind: K,
): Extract<Handle, { kind: K }> | undefined {
  const x = pr.handles.get(h);
  return x?.kind === kind ? (x as Extract<Handle, { kind: K }>) : undefined;
}

/** Names a handle, and wakes the threads waiting for it. */
function* createHandle(
  w: World,
  pr: ScenarioProc,
  name: string,
  h: Handle,
  proc = pr,
  pname?: string,
): Thread<void> {
  proc.handles.set(name, h);
  const key = `${pname ?? processName(w, proc)}/${name}`;
  const c = w.waits.get(key);
  if (c) yield* c.completeAll();
}

/** The handle an operation creates: what `make` gives, or a failed one when the call failed. */
function createdHandle(
  w: World,
  pr: ScenarioProc,
  name: string,
  ret: number | object,
  make: () => Handle,
): Thread<void> {
  const failed = typeof ret === 'number' && ret < 0;
  return createHandle(w, pr, name, failed ? { kind: 'failed', outcome: outcomeOf(ret) } : make());
}

function* call(w: World, pr: ScenarioProc, p: Process, o: ScenarioOp, thread: string): Thread<unknown> {
  const a = o.args as Record<string, never>;
  const EBADF = -9;
  switch (o.op) {
    case 'open': {
      const r = yield* sys.sysOpen(p, a.device);
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'fd', fd: r }));
      return r;
    }
    case 'close':
      return yield* sys.sysClose(p, fdOf(pr, a.fd));
    case 'open_path': {
      const r = yield* sys.sysOpenPath(p, fdOf(pr, a.fd), `${processName(w, pr)}.${a.as}`);
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'fd', fd: r }));
      return r;
    }
    case 'dup': {
      const r = yield* sys.sysDup(p, fdOf(pr, a.fd));
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'fd', fd: r }));
      return r;
    }
    case 'send': {
      const to = w.procs.get(a.to)!;
      const r = to.proc ? yield* sys.sysSend(p, fdOf(pr, a.fd), to.proc) : -3; // ESRCH
      const h: Handle = r < 0 ? { kind: 'failed', outcome: outcomeOf(r) } : { kind: 'fd', fd: r };
      yield* createHandle(w, pr, a.as, h, to, a.to);
      return r;
    }
    case 'mmap': {
      const r = yield* sys.sysMmap(p, fdOf(pr, a.fd), {
        offset: a.offset,
        length: a.length,
        ...(a.region !== undefined ? { region: a.region } : {}),
        ...(a.at !== undefined ? { at: a.at } : {}),
      });
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'map', addr: (r as Vma).start, length: a.length }));
      return r;
    }
    case 'mmap_anon': {
      const r = yield* sys.sysMmapAnon(p, `${processName(w, pr)}.${a.as}`, {
        length: a.length,
        ...(a.at !== undefined ? { at: a.at } : {}),
        ...(a.uffd !== undefined ? { uffd: a.uffd } : {}),
      });
      yield* createdHandle(w, pr, a.as, r, () => {
        const m = r as { vma: Vma; uffd: UserfaultfdCtx | undefined };
        return { kind: 'map', addr: m.vma.start, length: a.length, ...(m.uffd ? { uffd: m.uffd } : {}) };
      });
      return typeof r === 'number' ? r : 0;
    }
    case 'uffd_copy': {
      const m = mapOf(pr, a.map);
      const len = (a.length as number | undefined) ?? PAGE_SIZE;
      return yield* sys.sysUffdCopy(p, m.uffd, m.addr + a.offset, len);
    }
    case 'munmap': {
      const m = mapOf(pr, a.map);
      return yield* sys.sysMunmap(p, m.addr, m.length);
    }
    case 'madvise': {
      const m = mapOf(pr, a.map);
      return yield* sys.sysMadvise(p, m.addr, m.length, a.advice);
    }
    case 'fork': {
      const child = yield* sys.sysFork(p, a.as);
      const c = w.procs.get(a.as)!;
      c.proc = child;
      child.sharedFiles = w.sharing.has(a.as);
      for (const [h, v] of pr.handles) yield* createHandle(w, pr, h, v, c, a.as);
      const done = w.waits.get(`proc:${a.as}`);
      if (done) yield* done.completeAll();
      return 0;
    }
    case 'load':
    case 'store':
      return yield* sys.sysAccess(p, mapOf(pr, a.map).addr + a.offset, o.op === 'store', thread);
    case 'pread':
    case 'pwrite': {
      const buffer = a.map !== undefined ? mapOf(pr, a.map).addr + a.mapOffset : undefined;
      return yield* sys.sysRw(
        p,
        fdOf(pr, a.fd),
        {
          region: a.region,
          offset: a.offset,
          length: a.length,
          write: o.op === 'pwrite',
          ...(buffer !== undefined ? { buffer } : {}),
        },
        thread,
      );
    }
    case 'gup': {
      const pages = Math.max(1, Math.ceil(((a.length as number | undefined) ?? PAGE_SIZE) / PAGE_SIZE));
      return yield* sys.sysGup(p, mapOf(pr, a.map).addr + a.offset, pages, {
        fast: a.fast,
        ...(a.longterm !== undefined ? { longterm: a.longterm } : {}),
      });
    }
    case 'direct_io':
      return yield* sys.sysDirectIo(p, mapOf(pr, a.map).addr + a.offset, a.length, thread);
    case 'setrlimit':
      return yield* sys.sysSetrlimitNofile(p, a.nofile);
    case 'command':
      return yield* sys.sysCommand(p, fdOf(pr, a.fd), a.memory);
    case 'power':
      return yield* sys.sysPower(p, fdOf(pr, a.fd), a.state as PowerState);
    case 'flr':
      return yield* sys.sysFlr(p, fdOf(pr, a.fd));
    case 'reset':
      return yield* sys.sysReset(p, fdOf(pr, a.fd));
    case 'hot_reset':
      return yield* sys.sysHotReset(
        p,
        (a.fds as string[]).map((h) => fdOf(pr, h)),
      );
    case 'pm_entry':
    case 'pm_exit':
      return yield* sys.sysPm(p, fdOf(pr, a.fd), o.op === 'pm_entry');
    case 'export': {
      const r = yield* sys.sysExport(p, fdOf(pr, a.fd), a.region, a.ranges);
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'fd', fd: r }));
      return r;
    }
    case 'revoke':
      return yield* sys.sysRevoke(p, fdOf(pr, a.fd), fdOf(pr, a.dmabuf));
    case 'memattr':
      return yield* sys.sysMemattr(p, fdOf(pr, a.fd), fdOf(pr, a.dmabuf), a.attr);
    case 'unbind':
      return yield* sys.sysUnbind(p, a.device);
    case 'iommufd': {
      const r = yield* sys.sysIommufdOpen(p, `${processName(w, pr)}.${a.as}`);
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'fd', fd: r }));
      return r;
    }
    case 'ioas': {
      const r = yield* sys.sysIoasAllocFd(p, fdOf(pr, a.iommufd), a.as);
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'ioas', v: r as Ioas }));
      return typeof r === 'number' ? r : 0;
    }
    case 'attach': {
      const ioas = objOf(pr, a.ioas, 'ioas');
      return ioas ? yield* sys.sysAttach(p, fdOf(pr, a.fd), ioas.v) : EBADF;
    }
    case 'map_file': {
      const ioas = objOf(pr, a.ioas, 'ioas');
      return ioas ? yield* sys.sysMapFile(p, ioas.v, fdOf(pr, a.fd), a.iova, a.length, a.offset) : EBADF;
    }
    case 'access_pin': {
      const ioas = objOf(pr, a.ioas, 'ioas');
      return ioas ? yield* sys.sysAccessPin(ioas.v, a.iova, a.length) : EBADF;
    }
    case 'unmap_iova': {
      const ioas = objOf(pr, a.ioas, 'ioas');
      return ioas ? yield* sys.sysUnmapIova(ioas.v, a.iova, a.length) : EBADF;
    }
    case 'container': {
      const r = yield* sys.sysContainerOpen(
        p,
        `${processName(w, pr)}.${a.as}`,
        (a.fds as string[]).map((h) => fdOf(pr, h)),
      );
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'fd', fd: r }));
      return r;
    }
    case 'map_dma': {
      const vaddr = mapOf(pr, a.map).addr + a.offset;
      if (a.container !== undefined)
        return yield* sys.sysMapDmaFd(p, fdOf(pr, a.container), vaddr, a.iova, a.length);
      const ioas = objOf(pr, a.ioas, 'ioas')?.v;
      if (!ioas) return EBADF;
      return yield* sys.sysMapDma(p, ioas, vaddr, a.iova, a.length);
    }
    case 'unmap_dma':
      return yield* sys.sysUnmapDmaFd(p, fdOf(pr, a.container), a.iova, a.length);
    case 'import': {
      const r = yield* sys.sysImport(p, fdOf(pr, a.fd), `${processName(w, pr)}.${a.as}`, {
        revocable: a.revocable,
        ...(a.pinned !== undefined ? { pinned: a.pinned } : {}),
        ...(a.ignoresMove !== undefined ? { ignoresMove: a.ignoresMove } : {}),
      });
      yield* createdHandle(w, pr, a.as, r, () => ({ kind: 'importer', v: r as Importer }));
      return r;
    }
    case 'importer_dma': {
      const imp = objOf(pr, a.importer, 'importer');
      return imp ? yield* sys.sysImporterDma(p, imp.v) : EBADF;
    }
    case 'importer_unmap': {
      const imp = objOf(pr, a.importer, 'importer');
      return imp ? yield* sys.sysImporterUnmap(imp.v) : EBADF;
    }
    case 'dma':
      return yield* sys.sysDma(p, a.device, a.iova);
  }
}

function processName(w: World, pr: ScenarioProc): string {
  for (const [n, x] of w.procs) if (x === pr) return n;
  return '?';
}

/** `fd=dev offset=0x1000` for traces: sizes in hex, lists joined. */
const texts = new WeakMap<ScenarioOp, string>();
/** `op args` of an operation, for marks and messages (operations are immutable: made once). */
function opText(o: ScenarioOp): string {
  let t = texts.get(o);
  if (t === undefined) {
    t = `${o.op} ${argsText(o.args as Record<string, unknown>)}`;
    texts.set(o, t);
  }
  return t;
}

export function argsText(a: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(a)) {
    if (k === 'expect' || v === undefined) continue;
    parts.push(`${k}=${fmt(k, v)}`);
  }
  return parts.join(' ');
}

function fmt(k: string, v: unknown): string {
  if (typeof v === 'number')
    return /offset|length|iova|at|size/i.test(k) && v >= 16 ? `0x${v.toString(16)}` : String(v);
  if (Array.isArray(v))
    return `[${v.map((x) => (typeof x === 'object' ? argsText(x as Record<string, unknown>) : fmt(k, x))).join(', ')}]`;
  return String(v);
}
