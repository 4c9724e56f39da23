// One execution of a program: runs its threads event by event under a strategy's choices, keeps
// the event log (with vector clocks when the strategy needs happens-before), feeds lockdep, and
// reports violations. Strategies reuse one Execution for all their runs; per-run arrays are reset,
// never reallocated, so the hot path allocates nothing of its own.
//
// Happens-before is kept as two vector clocks per event when locks are handled lazily
// (ExploreOptions.lazyLocks): `clocks`, the real order of the execution, and `dclocks`, the same
// order without the edges a lazily handled lock adds between two critical sections (an
// acquisition that follows a release of the same lock). Race detection compares the two to find
// conflicts that only a lock order keeps apart (races.ts).

import type { Cell } from './cell.js';
import { violationKey } from './collector.js';
import type { Completion } from './completion.js';
import { Dependence } from './dependence.js';
import { encodeValue, foldHash, hash64, hashGraph } from './fingerprint.js';
import type { Lockdep, LockMode } from './lockdep.js';
import type { Mutex } from './mutex.js';
import {
  ALL_HI,
  ALL_LO,
  isAcquire,
  isBlockable,
  isReadLike,
  isRelease,
  isSeenWrite,
  isTry,
  K,
  OP_NAME,
  Op,
  QUEUED,
  VOID,
} from './op.js';
import { type Host, Prim, setHost } from './prim.js';
import type { CheckedEvent, Program, SavedIds, Thread, TraceEvent, ViolationKind } from './program.js';

/** An object a worker numbered: [id, creator, index, scope] or [id, key, scope] (scope null: not visible). */
export type NewId = [number, number, number, string | null] | [number, string, string | null];

import type { RwSem } from './rwsem.js';
import { SearchBound, Violation, Violations } from './violation.js';

type AnyPrim = (Cell<unknown> | Mutex | RwSem | Completion) & Prim;

export const RUNNING = 0;
export const DONE = 1;
export const DEAD = 2;

export interface RawViolation {
  kind: ViolationKind;
  id: string;
  message: string;
  /** Events of the execution that show it (the schedule is evThread[0..length)). */
  length: number;
  thread?: string;
  stack?: string;
}

export interface ExecutionOptions {
  clocks: boolean;
  lockdep: Lockdep | null;
  maxSteps: number;
  recordTrace?: boolean;
  /** Keep what fingerprint() needs (per-thread result hashes, the live objects). */
  fingerprints?: boolean;
  captureSites?: boolean;
  /**
   * Cut checking (Program.observedOnly): the observed objects are not visible (no ordering of
   * their writes), each write to one records the value it left for cuts.ts, and the invariant is
   * checked on the initial state only; cuts.ts checks every other state.
   */
  cuts?: boolean;
  /** Handle the locks the invariant does not see lazily (ExploreOptions.lazyLocks): keep dclocks. */
  lazy?: boolean;
  /**
   * State folding (ExploreOptions.foldStates): keep each thread's local state as a hash of what
   * its events returned, and at recorded loop heads the whole state's key (Execution.foldKey).
   */
  fold?: boolean;
}

/**
 * The iteration of a retry-loop invocation whose state is the first recorded (1-based). The first
 * iteration is not recorded: every access is an invocation, most never retry, and a state is a
 * hash of the whole world. Not later than the second: with three unrecorded iterations the
 * v5.8 fault/zap cycles outlast the model's re-fault bound before they repeat a recorded state.
 */
const LOOP_FIRST_RECORD = 2;

/** The state at the top of a retry-loop iteration (Execution.loopHead). */
interface LoopRecord {
  invocation: object;
  /** hashGraph of the shared plain data and the live sched objects. */
  state: string;
  /** Events each thread had run. */
  seqs: Int32Array;
  /** Per other thread in a retry loop: where in its iteration it was. */
  at: (LoopPlace | null)[];
  /** Events of the execution then. */
  len: number;
}

/** Where a thread was in an iteration of a retry loop. */
interface LoopPlace {
  invocation: object;
  /** Its operations since the top of the iteration: object, kind, slots lo and hi, four numbers each. */
  ops: number[];
  /** What each returned. */
  results: unknown[];
}

interface Held {
  obj: number;
  cls: string;
  mode: LockMode;
  site: string | undefined;
  /** Kernel functions active at the acquisition (while sites are captured). */
  stack: string[] | undefined;
}

export class Execution<S> implements Host {
  readonly n: number;
  readonly names: string[];
  private readonly fns: ((s: S) => Thread<unknown>)[];
  captureSites: boolean;
  readonly readOnlySections: boolean;
  /** Host.executionNumber: executions begun (begin() counts them). */
  executionNumber = 0;
  state!: S;

  // Threads.
  readonly status: Uint8Array;
  private readonly gens: (Thread<unknown> | null)[];
  readonly opKind: Int32Array;
  readonly opObj: AnyPrim[];
  /** Slots of the pending operation (whole objects: ALL_LO..ALL_HI). */
  readonly opLo: Int32Array;
  readonly opHi: Int32Array;
  /** The lazily handled locks each thread holds (object ids, in acquisition order). */
  private readonly lazyHeld: number[][];
  /** Per thread: the mutexes it holds in read-only sections (Mutex.lockReadOnly), innermost last. */
  private readonly readOnlyHeld: Prim[][];
  /** Per thread: accesses in its read-only section other than reads of data the lock guards. */
  private readonly readOnlyOther: Int32Array;
  /**
   * Lazy locks in whose critical sections a thread has taken another lazy lock in this execution,
   * as obj * 256 + thread: their critical sections can take part in a deadlock, so races of that
   * thread on that lock are not deferred (races.ts).
   */
  private readonly nestMarks = new Set<number>();
  /** The (obj * 256 + thread) marks the last event added to nestMarks. */
  readonly newNest: number[] = [];
  private readonly opArg: unknown[];
  /** With recordTrace: the value of the cell the running event is on, before the event. */
  private shownBefore: unknown = undefined;
  private readonly opSite: (string | undefined)[];
  private readonly opStack: (string[] | undefined)[];
  private readonly held: Held[][];
  /** Thread whose code is running (-1 during setup). */
  private current = -1;
  private readonly creatorSeq: Int32Array;

  // Events.
  len = 0;
  private cap = 0;
  evThread = new Int32Array(0);
  evObj = new Int32Array(0);
  evKind = new Int32Array(0);
  /** Slots the event touched, [evLo, evHi). */
  evLo = new Int32Array(0);
  evHi = new Int32Array(0);
  /**
   * 1 for an event on a lazily handled lock whose order against the lock's other critical sections
   * need not be explored unless something they do conflicts (see races.ts): an acquisition or
   * release, not a trylock, by a thread that holds no other lazy lock.
   */
  evDefer = new Uint8Array(0);
  /** Object state code before the event (see Prim.stateCode). */
  evState = new Int32Array(0);
  /** Object state code after the event. */
  evAfter = new Int32Array(0);
  /** 1-based position of the event in its thread. */
  evSeq = new Int32Array(0);
  /** Previous event on the same object, -1 if none. */
  evPrevObj = new Int32Array(0);
  /** Previous event of the same thread, -1 if none. */
  evPrevThr = new Int32Array(0);
  /** Preemptions up to and including the event. */
  evPreempt = new Int32Array(0);
  /** Vector clocks, n entries per event (only with options.clocks). */
  clocks = new Int32Array(0);
  /** Vector clocks without deferred lock edges (only with options.clocks and options.lazy). */
  dclocks = new Int32Array(0);
  readonly thrLast: Int32Array;
  private readonly thrSeq: Int32Array;
  readonly trace: TraceEvent[] = [];

  // Objects, by stable id.
  /** Stable object ids by creator (setup = 0, thread t = t + 1) and creation count. */
  private objIds: number[][];
  private objCount = 0;
  /** Stable object ids of keyed objects, and the keys created in this execution. */
  private readonly keyIds = new Map<string, number>();
  private readonly keysUsed = new Set<string>();
  objNames: string[] = [];
  private objs: AnyPrim[] = [];
  private objLastW = new Int32Array(16);
  /** The last write-like event on object o so far (-1: none). */
  lastWriteOn(o: number): number {
    return this.objLastW[o]!;
  }
  private objReadsHead = new Int32Array(16);
  private objLastEv = new Int32Array(16);
  /** Per object id: the execution (executionNumber) that last registered it. */
  private objEpoch = new Int32Array(16);
  /** Previous read-like event since the object's last write, -1 if none (per event). */
  evPrevRead = new Int32Array(0);
  /** For each event, its thread's previous event on the same object (-1: none). */
  evPrevSame = new Int32Array(0);
  /** objThrLast[o * n + t]: thread t's last event on object o so far (-1: none). */
  private objThrLast = new Int32Array(0);
  /** Thread u's last event on object o so far (-1: none). */
  lastOfThreadOn(o: number, u: number): number {
    return this.objThrLast[o * this.n + u]!;
  }
  /** For each event, the write-like event on its object before it (-1: none). */
  evPrevWrite = new Int32Array(0);
  /** Per object id: 1 when its events name slots (PrimOptions.slots). */
  private objSlots = new Uint8Array(16);
  /**
   * Visibility (partial-order reduction's rule for checked states): objects the program's
   * invariant looks at, each in a scope (dependence.ts). Two write-like events on visible objects
   * in related scopes are dependent even on different objects, so every order of them that could
   * change the invariant's verdict is explored. With an invariant and no `observes`, every object
   * is visible, in one scope.
   */
  readonly dep: Dependence;
  /** How objects become visible: by a predicate, by the observes() list, all of them, or none. */
  private readonly visibility: 'pred' | 'list' | 'all' | 'none';
  /** Per scope and thread (scope * n + thread): the thread's last visible write in the scope. */
  scopeLast = new Int32Array(0);
  readonly cover = new Coverage();
  /** Cut checking: 1 for observed objects (by id); their ids, and their values after setup. */
  private cutObs = new Uint8Array(16);
  readonly cutIds: number[] = [];
  readonly cutInit: unknown[] = [];
  /** Cut checking: 1 for a write-like event on an observed object, and the value it left. */
  evCutW = new Uint8Array(0);
  readonly evValue: unknown[] = [];

  /** Violations of this execution (cleared by begin()). */
  readonly violations: RawViolation[] = [];
  private readonly seenIds = new Set<string>();
  preemptions = 0;
  stepLimitHit = false;
  /** A thread stopped at a model-level bound (SearchBound): the search is incomplete. */
  boundHit = false;
  /** A thread died of a violation or an error: what it held stays held, so waits on it prove nothing. */
  private threadDied = false;
  /** The message of the first SearchBound of this execution. */
  boundMessage = '';
  /**
   * Retry cycles (loop.ts; only when the program defines sharedState): a thread was stopped at
   * the top of a loop iteration that began in a state this execution had already been in.
   */
  cycleHit = false;
  /**
   * Per thread inside a retry loop: the invocation, and what it did since the top of the current
   * iteration (its events, and what each returned): where in the iteration it is.
   */
  private readonly loopInv: (object | null)[];
  private readonly loopEvents: number[][];
  private readonly loopResults: unknown[][];
  /** Iterations begun per invocation (states are recorded from the LOOP_FIRST_RECORD-th on). */
  private readonly loopStarted = new Map<object, number>();
  /** The states at the tops of later iterations in this execution. */
  private readonly loopRecs: LoopRecord[] = [];
  /** The state hashes of the last execution's loop heads, by event count * 256 + thread. */
  private readonly loopStateCache = new Map<number, string>();
  /** A thread loopHead() stopped: it is not resumed once it yields its next operation. */
  private loopStop = -1;
  /** Per thread: the loop invocation at whose iteration top loopHead() stopped it (null: none). */
  private readonly stoppedAt: (object | null)[];
  // State folding (ExecutionOptions.fold). Per thread, two 32-bit lanes hashing every event it ran
  // and what it returned (its local state, as model code is deterministic), `hist` since the
  // thread began and `iter` since the top of its current loop iteration (from the hash its
  // invocation began with: loop.ts lets the invocation fix the loop's local state); a taint flag
  // when a result has no content to hash.
  private readonly histA: Int32Array;
  private readonly histB: Int32Array;
  private readonly histTaint: Uint8Array;
  private readonly iterA: Int32Array;
  private readonly iterB: Int32Array;
  private readonly iterTaint: Uint8Array;
  /** Per loop invocation: the thread's hash lanes and taint when it began. */
  private readonly invStart = new Map<object, [number, number, number]>();
  /**
   * The whole state's key at the last recorded loop head (shared state, every thread's status and
   * local state), and the event count there (-1: none in this execution yet).
   */
  foldKey = '';
  foldKeyAt = -1;
  /** State folding: the keys of this execution's recorded loop heads so far (a cycle check). */
  private readonly foldKeysHere = new Map<string, number>();
  /** The shared state's hash at the last recorded loop head (setFoldKey's input). */
  private foldState = '';
  /**
   * A retry cycle stopped a thread (with state folding): the event count at the earlier loop head
   * whose state this one repeats, -1 when none since dpor last looked. The states recorded between
   * the two lead back to that one, whose operations complete their records (dpor.ts, foldCycle).
   */
  cycleTo = -1;
  /**
   * State folding: per thread, the locks it holds now and the ones it held at its last event
   * (lockCode: id * 2, + 1 for a read-like acquisition), taken by a blocking acquisition (a
   * trylock's hold is left out: fewer locks only make the race step of a folded state find more).
   */
  private readonly foldHeld: number[][];
  /** State folding: per thread, the hash lanes saved when each open resultOnly call began (6 per call). */
  private readonly callSaved: number[][];
  private readonly foldHeldBefore: number[][];
  /** State folding, per object id: the object value its last read returned, and that value's resultCode. */
  private readonly codeOf: unknown[] = [];
  private readonly codeVal: number[] = [];
  /** Per thread: its last event changed foldHeld, so foldHeldBefore is behind (foldLocks). */
  private readonly foldHeldMoved: Uint8Array;
  /**
   * Set while a strategy replays a prefix it ran before: the clocks recorded then are still right,
   * so they are not computed again.
   */
  replaying = false;
  private lastThread = -1;
  /** The event the invariant is checked after (reused). */
  private readonly checked: CheckedEvent = { obj: null as unknown as Prim, write: false, lo: 0, hi: 0 };
  /** Per thread, a running hash of the results its events returned (its local state). */
  private readonly thrHash: Uint32Array;
  /** The objects registered in this execution, in order (for fingerprints). */
  private readonly liveIds: number[] = [];

  constructor(
    readonly program: Program<S>,
    readonly options: ExecutionOptions,
  ) {
    this.names = Object.keys(program.threads);
    this.fns = this.names.map((k) => program.threads[k]!);
    this.n = this.names.length;
    if (this.n === 0) throw new Error('program has no threads');
    if (this.n > 254) throw new Error(`program has ${this.n} threads; the explorer supports at most 254`);
    this.captureSites = options.captureSites ?? false;
    this.readOnlySections = program.readOnlySections !== false;
    this.status = new Uint8Array(this.n);
    this.gens = new Array(this.n).fill(null);
    this.opKind = new Int32Array(this.n);
    this.opObj = new Array(this.n);
    this.opLo = new Int32Array(this.n);
    this.opHi = new Int32Array(this.n);
    this.lazyHeld = this.names.map(() => []);
    this.readOnlyHeld = this.names.map(() => []);
    this.readOnlyOther = new Int32Array(this.names.length);
    this.opArg = new Array(this.n);
    this.opSite = new Array(this.n);
    this.opStack = new Array(this.n);
    this.held = this.names.map(() => []);
    this.creatorSeq = new Int32Array(this.n + 1);
    this.objIds = Array.from({ length: this.n + 1 }, () => []);
    this.thrLast = new Int32Array(this.n);
    this.thrSeq = new Int32Array(this.n);
    this.thrHash = new Uint32Array(this.n);
    this.histA = new Int32Array(this.n);
    this.histB = new Int32Array(this.n);
    this.histTaint = new Uint8Array(this.n);
    this.iterA = new Int32Array(this.n);
    this.iterB = new Int32Array(this.n);
    this.iterTaint = new Uint8Array(this.n);
    this.foldHeld = this.names.map(() => []);
    this.callSaved = this.names.map(() => []);
    this.foldHeldBefore = this.names.map(() => []);
    this.foldHeldMoved = new Uint8Array(this.n);
    this.loopInv = new Array(this.n).fill(null);
    this.stoppedAt = new Array(this.n).fill(null);
    this.loopEvents = this.names.map(() => []);
    this.loopResults = this.names.map(() => []);
    this.dep = new Dependence(program.scopesRelated?.bind(program));
    this.visibility = options.cuts
      ? 'none'
      : !program.invariant
        ? 'none'
        : program.observesObject
          ? 'pred'
          : program.observes
            ? 'list'
            : 'all';
    this.grow(256);
  }

  // ---- Host ----

  get currentThread(): number {
    return this.current;
  }

  /**
   * The state's fingerprint: every live object's state and every thread's status and local state
   * (see fingerprint.ts). Needs the `fingerprints` option.
   */
  fingerprint(): string {
    const parts: string[] = [];
    for (const id of this.liveIds) parts.push(this.objs[id]!.fingerprint());
    for (let t = 0; t < this.n; t++) parts.push(`${this.status[t]}:${this.thrHash[t]}:${this.opKind[t]}`);
    return hash64(parts.join('|'));
  }

  get eventCount(): number {
    return this.len;
  }

  /**
   * Host.loopHead (loop.ts): the running thread begins an iteration of a retry loop. From the
   * second iteration of an invocation on, the state here is compared with the states at the tops
   * of earlier iterations of the same invocation in this execution: the same sched objects and
   * shared plain data, and every other thread either idle since or at the same place of the same
   * loop iteration as then (samePlace). On a match the thread is stopped (the continuation from
   * here is the continuation from there).
   */
  loopHead(invocation: object): void {
    const t = this.current;
    const shared = this.program.sharedState;
    if (t < 0 || !shared) return;
    this.loopInv[t] = invocation;
    this.loopEvents[t]!.length = 0;
    this.loopResults[t]!.length = 0;
    const begun = (this.loopStarted.get(invocation) ?? 0) + 1;
    this.loopStarted.set(invocation, begun);
    if (this.options.fold) {
      let st = this.invStart.get(invocation);
      if (st === undefined) {
        st = [this.histA[t]!, this.histB[t]!, this.histTaint[t]!];
        this.invStart.set(invocation, st);
      }
      this.iterA[t] = st[0];
      this.iterB[t] = st[1];
      this.iterTaint[t] = st[2];
    }
    if (begun < LOOP_FIRST_RECORD) return;
    // A replayed prefix passes through the states the previous execution did: reuse its hashes.
    const key = this.len * 256 + t;
    let state = this.replaying ? this.loopStateCache.get(key) : undefined;
    if (state === undefined) {
      const roots: unknown[] = [shared.call(this.program, this.state)];
      for (const id of this.liveIds) roots.push(this.objs[id]);
      state = hashGraph(roots, (o) => (o instanceof Prim ? o.stateFields() : undefined));
      this.loopStateCache.set(key, state);
    }
    if (this.options.fold) {
      this.setFoldKey(state);
      if (this.foldKeyAt === this.len) {
        // The whole state (shared data and every thread's local state) was this one at an earlier
        // loop head of this execution, whichever thread stood at that head: a cycle.
        const earlier = this.foldKeysHere.get(this.foldKey);
        if (earlier !== undefined) {
          this.loopStop = t;
          this.cycleHit = true;
          this.cycleTo = earlier;
          return;
        }
        this.foldKeysHere.set(this.foldKey, this.len);
      }
    }
    const seqs = Int32Array.from(this.thrSeq);
    for (const r of this.loopRecs) {
      if (r.invocation !== invocation || r.state !== state) continue;
      let same = true;
      for (let u = 0; u < this.n && same; u++)
        if (u !== t && r.seqs[u] !== seqs[u])
          same = this.status[u] === RUNNING ? this.samePlace(u, r.at[u]) : this.stoppedAtPlace(u, r.at[u]);
      if (!same) continue;
      this.loopStop = t;
      this.cycleHit = true;
      if (this.options.fold) this.cycleTo = r.len;
      return;
    }
    const at: (LoopPlace | null)[] = [];
    for (let u = 0; u < this.n; u++) {
      const inv = this.loopInv[u];
      at.push(
        u === t || inv === null || this.status[u] !== RUNNING
          ? null
          : {
              invocation: inv,
              ops: this.opSignatures(this.loopEvents[u]!),
              results: this.loopResults[u]!.slice(),
            },
      );
    }
    this.loopRecs.push({ invocation, state, seqs, at, len: this.len });
  }

  /** Folds an event of thread t and what it returned (a read: readContent) into t's local-state hashes. */
  private foldEvent(t: number, id: number, k: number, lo: number, hi: number, seen: unknown): void {
    let r: number | null;
    if (typeof seen === 'object' && seen !== null) {
      // A cell's value is replaced at each change, never changed in place (Cell.rmw), so the
      // object read last from this object has the code computed then: reads of a device's state
      // (an object of a few fields, read at every BAR access) are hashed once per change.
      if (this.codeOf[id] === seen) r = this.codeVal[id]!;
      else {
        r = resultCode(seen);
        if (r !== null) {
          this.codeOf[id] = seen;
          this.codeVal[id] = r;
        }
      }
    } else r = resultCode(seen);
    if (r === null) {
      this.histTaint[t] = 1;
      this.iterTaint[t] = 1;
      return;
    }
    const x =
      Math.imul(id, 31) ^ Math.imul(k, 0x9e3779b1) ^ Math.imul(lo, 0x85ebca6b) ^ Math.imul(hi, 0xc2b2ae35);
    this.mixLanes(t, this.histA[t]!, this.histB[t]!, this.iterA[t]!, this.iterB[t]!, x, r);
  }

  /** Thread t's hash lanes: the given ones (hist a, b; iter a, b) with step x and its result code r mixed in. */
  private mixLanes(t: number, ha: number, hb: number, ia: number, ib: number, x: number, r: number): void {
    this.histA[t] = Math.imul(ha ^ x, 0x01000193) ^ r;
    this.histB[t] = (Math.imul(hb ^ r, 0x5bd1e995) + (this.histA[t]! >>> 7)) | 0;
    this.iterA[t] = Math.imul(ia ^ x, 0x01000193) ^ r;
    this.iterB[t] = (Math.imul(ib ^ r, 0x5bd1e995) + (this.iterA[t]! >>> 7)) | 0;
  }

  /** Keeps thread t's fold lock sets (foldHeld) after its event (id, k) returned `result`. */
  private foldLocks(t: number, id: number, k: number, result: unknown): void {
    const now = this.foldHeld[t]!;
    const acquire =
      k === K.LOCK ||
      k === K.DOWN_READ ||
      k === K.DOWN_WRITE_WAIT ||
      (k === K.DOWN_WRITE && result !== QUEUED);
    const release = k === K.UNLOCK || k === K.UP_READ || k === K.UP_WRITE;
    // `before` is what `now` was before this event: copied only when the last event changed `now`
    // or this one does (most events take no lock).
    if (acquire || release || this.foldHeldMoved[t] === 1) {
      const before = this.foldHeldBefore[t]!;
      for (let i = 0; i < now.length; i++) before[i] = now[i]!;
      if (before.length !== now.length) before.length = now.length;
      this.foldHeldMoved[t] = 0;
    }
    if (acquire) {
      now.push(id * 2 + (isReadLike(k) ? 1 : 0));
      this.foldHeldMoved[t] = 1;
    } else if (release) {
      for (let i = now.length - 1; i >= 0; i--)
        if (now[i]! >> 1 === id) {
          removeAt(now, i);
          this.foldHeldMoved[t] = 1;
          break;
        }
    }
  }

  /** State folding: the locks thread t held at its last event (lock codes, see foldHeld). */
  locksAtLast(t: number): readonly number[] {
    return this.foldHeldBefore[t]!;
  }

  /** State folding: each thread's count of events so far (compared by followMask). */
  foldSeqs(): Int32Array {
    return Int32Array.from(this.thrSeq);
  }

  /**
   * State folding: the threads (a bit each; none past 31) with an event after the point where
   * each had run `seqs` events that happens before the event at pos (`deferred`: in dclocks).
   */
  followMask(pos: number, seqs: Int32Array, deferred: boolean): number {
    const n = this.n;
    if (n > 31 || pos < 0) return 0;
    const c = deferred && this.options.lazy === true ? this.dclocks : this.clocks;
    const base = pos * n;
    let m = 0;
    for (let u = 0; u < n; u++) if (c[base + u]! > seqs[u]!) m |= 1 << u;
    return m;
  }

  /** State folding: the locks thread t holds now (lock codes, see foldHeld). */
  locksNow(t: number): readonly number[] {
    return this.foldHeld[t]!;
  }

  /**
   * State folding: writes at row `len` of the clocks the clock an operation of thread t would
   * have at the least if it ran later holding `locks` (lock codes, see foldHeld), and returns that
   * row. Each of those locks t does not hold now it takes later by a blocking acquisition, which
   * follows the lock's last event here (its last write-like one, for a read-like acquisition), as
   * clockInto joins them, and the release of every other thread that holds it in a mode that
   * keeps t out: so what that thread has run. dclocks get no edge of a lazily handled lock, as a
   * deferred acquisition's. And for each thread in `follow` (`followD`: in dclocks), what it has
   * run so far: the operation came after one of its later events (dpor.ts, SumOp.follow).
   * evThread[len] is set to t (the row stands for an event of t).
   */
  futureClock(t: number, locks: readonly number[], follow = 0, followD = 0): number {
    const i = this.len;
    if (i >= this.cap) this.grow(Math.max(16, this.cap * 2));
    const n = this.n;
    const base = i * n;
    const lazy = this.options.lazy === true;
    copyRow(this.clocks, base, this.thrLast[t]!, n);
    if (lazy) copyRow(this.dclocks, base, this.thrLast[t]!, n);
    this.evThread[i] = t;
    // The threads whose own events after the state came before the operation, every time: it
    // follows what they have run up to the state here too (program order).
    for (let u = 0; u < n && (follow | followD) >>> u !== 0; u++) {
      const last = this.thrLast[u]!;
      if (last < 0) continue;
      if ((follow >>> u) & 1) join(this.clocks, base, last * n, n);
      if (lazy && (followD >>> u) & 1) join(this.dclocks, base, last * n, n);
    }
    const held = this.foldHeld[t]!;
    for (const code of locks) {
      const id = code >> 1;
      if (!this.isLive(id)) continue;
      let mine = false;
      for (const h of held) if (h >> 1 === id) mine = true;
      if (mine) continue;
      const eager = lazy && !(id < this.dep.lazy.length && this.dep.lazy[id] === 1);
      const e = (code & 1) === 1 ? this.objLastW[id]! : this.objLastEv[id]!;
      if (e >= 0) {
        join(this.clocks, base, e * n, n);
        if (eager) join(this.dclocks, base, e * n, n);
      }
      // Another thread that holds it so that t cannot take it too releases it first: after what
      // it has run so far.
      for (let w = 0; w < n; w++) {
        const last = this.thrLast[w]!;
        if (w === t || last < 0) continue;
        for (const h of this.foldHeld[w]!)
          if (h >> 1 === id && ((h & 1) === 0 || (code & 1) === 0)) {
            join(this.clocks, base, last * n, n);
            if (eager) join(this.dclocks, base, last * n, n);
            break;
          }
      }
    }
    return i;
  }

  /**
   * State folding at every event (dpor.ts, foldTestHooks.everyEvent: a test hook, not an option):
   * the whole state's key here, as at a loop head.
   */
  foldKeyHere(): void {
    const shared = this.program.sharedState;
    if (!shared) return;
    const roots: unknown[] = [shared.call(this.program, this.state)];
    for (const id of this.liveIds) roots.push(this.objs[id]);
    this.setFoldKey(hashGraph(roots, (o) => (o instanceof Prim ? o.stateFields() : undefined)));
  }

  /**
   * The whole state's key at the running thread's loop head: the shared state's hash and, per
   * thread, its status and local state (in a retry loop: since its invocation began and the top of
   * its current iteration; else since it began; none for a thread that has ended or died). None
   * when a running thread's local state has a result without content (foldKeyAt stays).
   */
  private setFoldKey(state: string): void {
    this.foldState = state;
    let key = state;
    for (let u = 0; u < this.n; u++) {
      // A thread that has ended (or died) does nothing more: how it got there is no state.
      if (this.status[u] !== RUNNING) {
        key += `|${this.status[u]}`;
        continue;
      }
      const inLoop = this.loopInv[u] !== null;
      if ((inLoop ? this.iterTaint[u] : this.histTaint[u]) === 1) return;
      const a = inLoop ? this.iterA[u]! : this.histA[u]!;
      const b = inLoop ? this.iterB[u]! : this.histB[u]!;
      key += `|${this.status[u]}:${a >>> 0}:${b >>> 0}`;
    }
    this.foldKey = key;
    this.foldKeyAt = this.len;
  }

  /**
   * Is thread u where it was at a recorded place: in the same loop invocation, having done the
   * same operations since the top of the iteration, each returning the same value (objects: the
   * same object)? Model code is deterministic, so then its local state is the same.
   */
  private samePlace(u: number, p: LoopPlace | null): boolean {
    if (p === null || this.loopInv[u] !== p.invocation) return false;
    const evs = this.loopEvents[u]!;
    const res = this.loopResults[u]!;
    if (evs.length * 4 !== p.ops.length) return false;
    const ops = p.ops;
    for (let k = 0; k < evs.length; k++) {
      const i = evs[k]!;
      const q = k * 4;
      if (
        this.evObj[i] !== ops[q] ||
        this.evKind[i] !== ops[q + 1] ||
        this.evLo[i] !== ops[q + 2] ||
        this.evHi[i] !== ops[q + 3] ||
        !Object.is(res[k], p.results[k])
      )
        return false;
    }
    return true;
  }

  /**
   * Was thread u stopped by loopHead() at the top of an iteration of the loop it was at the top of
   * at place p? It stays there for good: for what the other threads can do it is where it was.
   */
  private stoppedAtPlace(u: number, p: LoopPlace | null): boolean {
    return this.status[u] === DEAD && p !== null && p.ops.length === 0 && this.stoppedAt[u] === p.invocation;
  }

  /** The events' object, kind and slots, four numbers each (LoopPlace.ops). */
  private opSignatures(events: readonly number[]): number[] {
    const out = new Array<number>(events.length * 4);
    for (let k = 0; k < events.length; k++) {
      const i = events[k]!;
      out[k * 4] = this.evObj[i]!;
      out[k * 4 + 1] = this.evKind[i]!;
      out[k * 4 + 2] = this.evLo[i]!;
      out[k * 4 + 3] = this.evHi[i]!;
    }
    return out;
  }

  /** Host.callEnter (loop.ts: resultOnly): saves the running thread's hash lanes. */
  callEnter(): number {
    const t = this.current;
    if (t < 0 || !this.options.fold) return -1;
    const c = this.callSaved[t]!;
    const mark = c.length;
    c.push(
      this.histA[t]!,
      this.histB[t]!,
      this.histTaint[t]!,
      this.iterA[t]!,
      this.iterB[t]!,
      this.iterTaint[t]!,
    );
    return mark;
  }

  /**
   * Host.callExit: the call that began at `mark` returned `value` (ok) or threw. Returned, the
   * thread's local state is what it was at the call plus the value: its lanes become the saved
   * ones folded with the value's code. Thrown, they keep every event of the call.
   */
  callExit(mark: number, ok: boolean, value: unknown): void {
    const t = this.current;
    if (t < 0 || !this.options.fold) return;
    const c = this.callSaved[t]!;
    if (mark >= c.length) return;
    if (ok) {
      const r = resultCode(value);
      if (r === null) {
        this.histTaint[t] = 1;
        this.iterTaint[t] = 1;
      } else {
        this.mixLanes(t, c[mark]!, c[mark + 1]!, c[mark + 3]!, c[mark + 4]!, CALL_MARK, r);
        this.histTaint[t] = c[mark + 2]!;
        this.iterTaint[t] = c[mark + 5]!;
      }
    }
    c.length = mark;
  }

  /** Host.loopEnd (loop.ts): the running thread leaves the retry loop it was in. */
  loopEnd(invocation: object): void {
    const t = this.current;
    if (t < 0 || this.loopInv[t] !== invocation) return;
    this.loopInv[t] = null;
    this.loopEvents[t]!.length = 0;
    this.loopResults[t]!.length = 0;
    if (this.options.fold) {
      // By the loop contract the invocation fixed the state at the top of the last iteration: the
      // thread leaves the loop with that and the last iteration's events, not every iteration's.
      this.histA[t] = this.iterA[t]!;
      this.histB[t] = this.iterB[t]!;
      this.histTaint[t] = this.iterTaint[t]!;
    }
  }

  get inSetup(): boolean {
    return this.current === -1;
  }

  /** Host.comparesStates: loop heads compare states when the program says what it shares. */
  get comparesStates(): boolean {
    return this.program.sharedState !== undefined;
  }

  get alone(): boolean {
    if (this.current === -1) return true;
    for (let t = 0; t < this.n; t++) if (t !== this.current && this.status[t] === RUNNING) return false;
    return true;
  }

  register(p: Prim): number {
    let id: number | undefined;
    if (p.key !== undefined) {
      if (this.keysUsed.has(p.key)) throw new Error(`two objects with the key "${p.key}" in one execution`);
      this.keysUsed.add(p.key);
      id = this.keyIds.get(p.key);
      if (id === undefined) {
        id = this.newObjId();
        this.keyIds.set(p.key, id);
      }
    } else {
      const c = this.current + 1;
      const ids = this.objIds[c]!;
      const seq = this.creatorSeq[c]!++;
      id = ids[seq];
      if (id === undefined) {
        id = this.newObjId();
        ids[seq] = id;
      }
    }
    this.objs[id] = p as AnyPrim;
    this.objNames[id] = p.name;
    this.objLastW[id] = -1;
    this.objReadsHead[id] = -1;
    this.objLastEv[id] = -1;
    this.objEpoch[id] = this.executionNumber;
    if ((id + 1) * this.n > this.objThrLast.length)
      this.objThrLast = grown(this.objThrLast, (id + 1) * this.n * 2);
    this.objThrLast.fill(-1, id * this.n, (id + 1) * this.n);
    this.objSlots[id] = p.slots ? 1 : 0;
    if (this.options.fingerprints || this.program.sharedState) this.liveIds.push(id);
    const dep = this.dep;
    if (this.visibility === 'pred' || this.visibility === 'all') {
      const visible = this.visibility === 'all' || this.program.observesObject!(p);
      dep.setScope(id, visible ? this.scopeFor(p) : -1);
    }
    // Lazy: mutexes (and spinlocks), and rw_semaphores whose sections never wait. Another
    // rw_semaphore's readers share it and its queued writers block new readers, so who waits where
    // in a deadlock depends on orders of sections that touch nothing in common: its races stay eager.
    // A lock whose sections touch plain data stays eager too: its orders are that data's.
    if (this.options.lazy)
      dep.setLazy(
        id,
        (p.type === 'mutex' || (p.type === 'rwsem' && p.atomicSections)) &&
          !p.guardsPlainData &&
          !dep.isVisible(id),
      );
    return id;
  }

  /** The visibility scope of a visible object (Program.scopeOf; one scope without it). */
  private scopeFor(p: Prim): number {
    const f = this.program.scopeOf;
    const s = this.dep.scopeId(f ? f.call(this.program, p) : '');
    if ((s + 1) * this.n > this.scopeLast.length) {
      const b = new Int32Array(Math.max((s + 1) * this.n, this.scopeLast.length * 2)).fill(-1);
      b.set(this.scopeLast);
      this.scopeLast = b;
    }
    return s;
  }

  /** Puts a schedule in the event log for a strategy to replay (resuming from a checkpoint). */
  presetThreads(threads: readonly number[]): void {
    if (threads.length > this.cap) this.grow(Math.max(threads.length, this.cap * 2));
    this.evThread.set(threads);
  }

  /** The object numbering so far (a checkpoint saves it: branches name objects by number). */
  saveIds(): SavedIds {
    const visible: number[] = [];
    const scopes: string[] = [];
    for (let id = 0; id < this.objCount; id++) {
      const sc = this.dep.scopeOf(id);
      if (sc < 0) continue;
      visible.push(id);
      scopes.push(this.dep.scopeNames[sc]!);
    }
    return {
      count: this.objCount,
      byCreator: this.objIds.map((a) => [...a]),
      byKey: [...this.keyIds.entries()],
      visible,
      scopes,
    };
  }

  /** Continues a saved numbering (before the first execution of a resumed search). */
  restoreIds(s: SavedIds): void {
    if (s.byCreator.length !== this.objIds.length)
      throw new Error(
        `checkpoint: object numbering for ${s.byCreator.length - 1} threads, the program has ${this.n}`,
      );
    this.objCount = 0;
    for (let c = 0; c < s.byCreator.length; c++) this.objIds[c] = [...s.byCreator[c]!];
    this.keyIds.clear();
    for (const [k, id] of s.byKey) this.keyIds.set(k, id);
    while (this.objCount < s.count) this.newObjId();
    if (s.visible) {
      for (let j = 0; j < s.visible.length; j++) this.setVisible(s.visible[j]!, s.scopes?.[j] ?? '');
    }
  }

  /** Makes object `id` visible in the scope named `scope`. */
  private setVisible(id: number, scope: string): void {
    const s = this.dep.scopeId(scope);
    if ((s + 1) * this.n > this.scopeLast.length) {
      const b = new Int32Array(Math.max((s + 1) * this.n, this.scopeLast.length * 2)).fill(-1);
      b.set(this.scopeLast);
      this.scopeLast = b;
    }
    this.dep.setScope(id, s);
    this.dep.setLazy(id, false);
  }

  /**
   * A parallel search's worker: takes the coordinator's numbering (ids) and the scopes of its
   * visible objects, dropping what this process numbered on its own since.
   */
  adoptIds(s: SavedIds, scopes: ReadonlyMap<number, string>): void {
    this.dep.clearObjects();
    this.restoreIds(s);
    for (const [id, scope] of scopes) this.setVisible(id, scope);
    this.cutObs.fill(0);
  }

  /**
   * The objects numbered from id `from` on, as [id, creator, index] (creator: setup 0, thread t is
   * t + 1) or [id, key], each with 1 when it is visible.
   */
  idsSince(from: number): NewId[] {
    const out: NewId[] = [];
    for (let c = 0; c < this.objIds.length; c++) {
      const ids = this.objIds[c]!;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (id !== undefined && id >= from) out.push([id, c, i, this.scopeName(id)]);
      }
    }
    for (const [k, id] of this.keyIds) if (id >= from) out.push([id, k, this.scopeName(id)]);
    return out;
  }

  /** The name of an object's visibility scope, null when it is not visible. */
  scopeName(id: number): string | null {
    const s = this.dep.scopeOf(id);
    return s < 0 ? null : this.dep.scopeNames[s]!;
  }

  private newObjId(): number {
    const id = this.objCount++;
    if (id >= this.objLastW.length) {
      const n = id * 2;
      this.objLastW = grown(this.objLastW, n);
      this.objReadsHead = grown(this.objReadsHead, n);
      this.objLastEv = grown(this.objLastEv, n);
      this.objEpoch = grown(this.objEpoch, n);
      const b = new Uint8Array(n);
      b.set(this.objSlots);
      this.objSlots = b;
    }
    return id;
  }

  // ---- lifecycle ----

  /** Starts a fresh execution: setup, then every thread runs up to its first event. */
  begin(): void {
    this.executionNumber++;
    this.len = 0;
    this.preemptions = 0;
    this.lastThread = -1;
    this.stepLimitHit = false;
    this.boundHit = false;
    this.threadDied = false;
    if (this.program.sharedState) {
      this.cycleHit = false;
      this.loopInv.fill(null);
      for (const a of this.loopEvents) a.length = 0;
      for (const a of this.loopResults) a.length = 0;
      this.loopStarted.clear();
      this.loopRecs.length = 0;
      this.loopStop = -1;
      this.stoppedAt.fill(null);
      this.liveIds.length = 0;
    }
    if (this.options.fold) {
      this.histA.fill(FOLD_SEED_A);
      this.histB.fill(FOLD_SEED_B);
      this.histTaint.fill(0);
      this.iterA.fill(FOLD_SEED_A);
      this.iterB.fill(FOLD_SEED_B);
      this.iterTaint.fill(0);
      this.invStart.clear();
      this.foldKeyAt = -1;
      this.foldKeysHere.clear();
      this.cycleTo = -1;
      for (const h of this.foldHeld) h.length = 0;
      for (const c of this.callSaved) c.length = 0;
      for (const h of this.foldHeldBefore) h.length = 0;
      this.foldHeldMoved.fill(0);
    }
    if (this.violations.length > 0) this.violations.length = 0;
    if (this.seenIds.size > 0) this.seenIds.clear();
    if (this.trace.length > 0) this.trace.length = 0;
    this.creatorSeq.fill(0);
    if (this.keysUsed.size > 0) this.keysUsed.clear();
    this.thrLast.fill(-1);
    this.thrSeq.fill(0);
    if (this.options.fingerprints) {
      this.thrHash.fill(0);
      this.liveIds.length = 0;
    }
    this.status.fill(RUNNING);
    for (const h of this.lazyHeld) if (h.length > 0) h.length = 0;
    for (const h of this.readOnlyHeld) if (h.length > 0) h.length = 0;
    if (this.nestMarks.size > 0) this.nestMarks.clear();
    for (const h of this.held) if (h.length > 0) h.length = 0;
    this.scopeLast.fill(-1);
    setHost(this);
    this.current = -1;
    try {
      this.state = this.program.setup();
      this.markVisible();
      for (let t = 0; t < this.n; t++) {
        this.current = t;
        let g: Thread<unknown>;
        try {
          g = this.fns[t]!(this.state);
          if (!g || typeof g.next !== 'function')
            throw new Error(`thread ${this.names[t]} is not a generator`);
        } catch (e) {
          this.threadFailed(t, e);
          continue;
        }
        this.gens[t] = g;
        this.resume(t, undefined);
      }
    } finally {
      this.current = -1;
      setHost(null);
    }
    this.checkInvariant();
  }

  private markVisible(): void {
    const p = this.program;
    if (this.options.cuts) {
      this.markCuts();
      return;
    }
    if (this.visibility !== 'list') return;
    for (const o of p.observes!(this.state)) {
      const id = (o as Prim).id;
      if (id < 0) continue;
      this.setVisible(id, p.scopeOf ? p.scopeOf(o as Prim) : '');
    }
  }

  private markCuts(): void {
    this.cutIds.length = 0;
    this.cutInit.length = 0;
    for (const o of this.program.observes?.(this.state) ?? []) {
      const id = (o as Prim).id;
      if (id < 0 || this.cutIds.includes(id)) continue;
      const prim = this.objs[id] as unknown as Partial<Cell<unknown>> & Prim;
      if (typeof prim.cutValue !== 'function')
        throw new Error(
          `observedOnly: the invariant observes ${prim.type} ${prim.name}; only Cells can be observed this way`,
        );
      if (id >= this.cutObs.length) {
        const b = new Uint8Array(Math.max(id + 1, this.cutObs.length * 2));
        b.set(this.cutObs);
        this.cutObs = b;
      }
      this.cutObs[id] = 1;
      this.cutIds.push(id);
      this.cutInit.push(prim.cutValue());
    }
  }

  /** The object with a stable id (live in this execution). */
  objectOf(id: number): Prim {
    return this.objs[id]!;
  }

  /** Is the object visible to the invariant? */
  isVisible(obj: number): boolean {
    return this.dep.isVisible(obj);
  }

  /** Does the object name slots in its events? */
  hasSlots(obj: number): boolean {
    return this.objSlots[obj] === 1;
  }

  enabled(t: number): boolean {
    return this.status[t] === RUNNING && this.opObj[t]!.enabled(this.opKind[t]!, t);
  }

  /** True when no thread can run: the execution is over (finished or deadlocked). */
  isOver(): boolean {
    for (let t = 0; t < this.n; t++) if (this.enabled(t)) return false;
    return true;
  }

  /** Any thread that has not returned (after isOver(): a deadlock). */
  anyUnfinished(): boolean {
    for (let t = 0; t < this.n; t++) if (this.status[t] === RUNNING) return true;
    return false;
  }

  /** True if running `t` next would be a preemption. */
  wouldPreempt(t: number): boolean {
    const p = this.lastThread;
    return p !== -1 && p !== t && this.enabled(p);
  }

  /** Runs thread `t`'s pending operation (it must be enabled), then its code up to the next one. */
  step(t: number): void {
    const i = this.len;
    if (i >= this.options.maxSteps) {
      this.stepLimitHit = true;
      const busy = this.names.filter((_, u) => this.status[u] === RUNNING).join(', ');
      this.report(
        'error',
        'STEP_BOUND',
        `execution exceeded ${this.options.maxSteps} events without finishing (still running: ${busy}): a thread that never stops?`,
        i,
      );
      return;
    }
    if (i === this.cap) this.grow(this.cap * 2);
    if (this.wouldPreempt(t)) this.preemptions++;
    this.lastThread = t;
    const o = this.opObj[t]!;
    let k: number = this.opKind[t]!;
    if (k === K.REF_SCOPED) k = o.refine(k);
    const id = o.id;
    const lo = this.opLo[t]!;
    const hi = this.opHi[t]!;
    this.len = i + 1;
    this.evThread[i] = t;
    this.evObj[i] = id;
    this.evKind[i] = k;
    this.evLo[i] = lo;
    this.evHi[i] = hi;
    this.evState[i] = o.stateCode();
    this.evSeq[i] = ++this.thrSeq[t]!;
    this.evPrevObj[i] = this.objLastEv[id]!;
    this.evPrevSame[i] = this.objThrLast[id * this.n + t]!;
    this.objThrLast[id * this.n + t] = i;
    this.evPrevThr[i] = this.thrLast[t]!;
    this.evPreempt[i] = this.preemptions;
    this.objLastEv[id] = i;
    const readLike = isReadLike(k);
    const dep = this.dep;
    const sc = id < dep.scope.length ? dep.scope[id]! : -1;
    const visW = sc >= 0 && isSeenWrite(k);
    const lazyLock = id < dep.lazy.length && dep.lazy[id] === 1;
    const defer = lazyLock && !isTry(k) && this.lazyHeld[t]!.length - (isRelease(k) ? 1 : 0) === 0 ? 1 : 0;
    this.evDefer[i] = defer;
    this.evPrevWrite[i] = this.objLastW[id]!;
    if (this.options.clocks && !this.replaying)
      this.computeClock(i, t, id, readLike, sc, visW, defer, lo, hi);
    if (visW) this.scopeLast[sc * this.n + t] = i;
    if (readLike) {
      this.evPrevRead[i] = this.objReadsHead[id]!;
      this.objReadsHead[id] = i;
    } else {
      this.evPrevRead[i] = -1;
      this.objLastW[id] = i;
      this.objReadsHead[id] = -1;
    }
    this.thrLast[t] = i;

    let result: unknown;
    // Traces show what a read-modify-write changed: the value before it (recording only).
    if (this.options.recordTrace)
      this.shownBefore = o.type === 'cell' ? (o as Cell<unknown>).value : undefined;
    setHost(this);
    this.current = t;
    try {
      result = o.apply(k, t, this.opArg[t]);
    } catch (e) {
      this.evAfter[i] = o.stateCode();
      this.evCutW[i] = 0;
      this.current = -1;
      setHost(null);
      this.threadFailed(t, e);
      if (!this.options.cuts) this.checkInvariant(this.event(o, k, lo, hi));
      return;
    }
    this.evAfter[i] = o.stateCode();
    if (this.readOnlyHeld[t]!.length > 0 || k === K.DOWN_READ) this.readOnlySection(t, o, k);
    if (this.newNest.length > 0) this.newNest.length = 0;
    if (this.lazyHeld[t]!.length > 0 && (isBlockable(k) || k === K.DOWN_WRITE)) this.markNesting(t, o);
    if (lazyLock) this.countLazy(t, id, k, result);
    if (!readLike && id < this.cutObs.length && this.cutObs[id] === 1) {
      this.evCutW[i] = 1;
      this.evValue[i] = (o as Cell<unknown>).cutValue();
    } else this.evCutW[i] = 0;
    if (this.options.lockdep || this.options.recordTrace) this.afterOp(t, i, o, k, result);
    if (this.options.fingerprints)
      this.thrHash[t] = foldHash(this.thrHash[t]!, `${k}:${encodeValue(result)}`);
    // What a read saw, by content (a slotted value's slots), once for both uses.
    const seen =
      k === K.READ && (this.loopInv[t] !== null || this.options.fold) ? readContent(result, lo, hi) : result;
    if (this.loopInv[t] !== null) {
      this.loopEvents[t]!.push(i);
      this.loopResults[t]!.push(seen);
    }
    if (this.options.fold) {
      this.foldEvent(t, id, k, lo, hi, seen);
      this.foldLocks(t, id, k, result);
    }
    this.resume(t, result);
    this.current = -1;
    setHost(null);
    if (!this.options.cuts) this.checkInvariant(this.event(o, k, lo, hi));
  }

  private event(o: Prim, k: number, lo: number, hi: number): CheckedEvent {
    const c = this.checked;
    c.obj = o;
    c.write = isSeenWrite(k);
    c.lo = lo;
    c.hi = hi;
    return c;
  }

  /**
   * Thread t's event of kind k on o, in or at the start of a read-only section (Mutex.lockReadOnly):
   * keeps the sections t is in, and reports an ERROR where a section breaks what makes it one — it
   * may read data its lock guards (a Cell whose guardedBy is that lock) and make one other access,
   * and must not wait or take a lock.
   */
  private readOnlySection(t: number, o: Prim, k: number): void {
    const held = this.readOnlyHeld[t]!;
    if (k === K.DOWN_READ && o.type === 'mutex') {
      if (held.length > 0) this.readOnlyBroken(t, held, `takes ${o.name} inside it`);
      held.push(o);
      this.readOnlyOther[t] = 0;
      return;
    }
    if (held.length === 0) return;
    if (k === K.UP_READ && o === held[held.length - 1]) {
      held.pop();
      return;
    }
    if (k === K.READ && o.type === 'cell') {
      const g = (o as Cell<unknown>).guardedBy;
      if (g !== null && held.includes(g)) return;
    }
    if (isBlockable(k) || isAcquire(k) || isTry(k)) {
      this.readOnlyBroken(t, held, `could wait or take a lock: ${OP_NAME[k]} ${o.name}`);
      return;
    }
    if (++this.readOnlyOther[t]! > 1)
      this.readOnlyBroken(
        t,
        held,
        `makes a second access that is not a read of data the lock guards: ${OP_NAME[k]} ${o.name}`,
      );
  }

  private readOnlyBroken(t: number, held: Prim[], what: string): void {
    this.report(
      'error',
      'ERROR',
      `${this.names[t]}: a read-only section of ${held[held.length - 1]!.name} (lockReadOnly) ${what}; such a section may only read data written under the lock, make one other access, and never wait`,
      this.len,
      this.names[t],
    );
  }

  /** Keeps the lazily handled locks thread t holds, after its event of kind k on lock `id`. */
  private countLazy(t: number, id: number, k: number, result: unknown): void {
    const held = this.lazyHeld[t]!;
    if (isRelease(k)) {
      const at = held.lastIndexOf(id);
      if (at >= 0) removeAt(held, at);
    } else if (isTry(k) ? result === true : isAcquire(k) && result !== QUEUED) held.push(id);
  }

  /**
   * Thread t could wait (took a lock, waited for a completion) inside critical sections of lazy
   * locks: those sections can take part in a deadlock (nestMarks, newNest).
   */
  private markNesting(t: number, inner: AnyPrim): void {
    for (const o of this.lazyHeld[t]!) {
      const held = this.objs[o]!;
      if (held.type === 'rwsem' && held.atomicSections)
        this.report(
          'error',
          'ERROR',
          `${this.names[t]}: ${OP_NAME[this.opKind[t]!]} ${inner.name} could wait inside a critical section of ${held.name}, whose sections never wait (atomicSections)`,
          this.len,
          this.names[t],
        );
      this.markSections(o, t);
    }
  }

  /** From now on thread t's sections of lazy lock o are ordered eagerly (nestMarks, newNest). */
  private markSections(o: number, t: number): void {
    const mark = o * 256 + t;
    if (this.nestMarks.has(mark)) return;
    this.nestMarks.add(mark);
    this.newNest.push(mark);
  }

  /**
   * Host.plainAccess (Mutex.plainData): the running thread touches plain data lock `p` guards.
   * Such sections are ordered the way sections that can wait are: the thread's deferred races on
   * the lock are reversed (races.ts: nested) and its later ones are not deferred (nesting()).
   */
  plainAccess(p: Prim): void {
    const t = this.current;
    if (t < 0 || !this.options.lazy) return;
    if (this.dep.isLazy(p.id)) this.markSections(p.id, t);
  }

  /** Has thread t done something that could wait inside a critical section of lazy lock `obj` in this execution? */
  nesting(t: number, obj: number): boolean {
    return this.nestMarks.size > 0 && this.nestMarks.has(obj * 256 + t);
  }

  /** Ends the execution: deadlock and final checks. Returns true if it deadlocked. */
  finish(): boolean {
    if (this.stepLimitHit) return false;
    // A thread stopped at a model bound might have released what the others wait for: threads left
    // waiting are no deadlock the model can claim (the search is marked incomplete instead).
    // Likewise a thread that died of a violation: the others may wait for what it held, which the
    // kernel would have released had the bug not been there (the violation is the report).
    // And a thread stopped going round a retry cycle: it would have gone on for ever, holding or
    // freeing in turns what the others wait for.
    if (this.anyUnfinished() && !this.boundHit && !this.threadDied && !this.cycleHit) {
      const waits: string[] = [];
      for (let t = 0; t < this.n; t++) {
        if (this.status[t] !== RUNNING) continue;
        const o = this.opObj[t]!;
        waits.push(
          `${this.names[t]} waits in ${OP_NAME[this.opKind[t]!]} on ${o.type} ${o.name} (${o.describeHolders(this.names)})`,
        );
        if (this.options.lockdep) this.lockdepAttempt(t, this.len, o, this.opKind[t]!);
      }
      this.report('deadlock', 'DEADLOCK', `deadlock: ${waits.join('; ')}`, this.len);
      return true;
    }
    if (this.program.final) {
      try {
        const r = this.program.final(this.state);
        if (typeof r === 'string') this.report('final', 'FINAL', r, this.len);
      } catch (e) {
        if (e instanceof Violation) this.report('final', e.id, e.message, this.len);
        else
          this.report('error', 'ERROR', `final check threw: ${errMsg(e)}`, this.len, undefined, errStack(e));
      }
    }
    return false;
  }

  // ---- internals ----

  private resume(t: number, result: unknown): void {
    let r: IteratorResult<Op, unknown>;
    try {
      r = this.gens[t]!.next(result === undefined ? VOID : result);
    } catch (e) {
      this.threadFailed(t, e);
      return;
    }
    if (r.done) {
      this.status[t] = DONE;
      this.gens[t] = null;
      return;
    }
    if (this.loopStop === t) {
      // Stopped at the top of a retry-loop iteration (loopHead): its next operation never runs.
      this.loopStop = -1;
      this.stoppedAt[t] = this.loopInv[t] ?? null;
      this.status[t] = DEAD;
      this.gens[t] = null;
      // The state below this loop head is the one with the thread stopped: its record's key says
      // so (the key with it running is the earlier head's, whose subtree runs it).
      if (this.options.fold && this.foldKeyAt === this.len) {
        // Other threads' keys were whole a moment ago, so this one is too.
        this.setFoldKey(this.foldState);
        if (!this.foldKeysHere.has(this.foldKey)) this.foldKeysHere.set(this.foldKey, this.len);
      }
      return;
    }
    const op = r.value;
    if (!(op instanceof Op)) {
      this.threadFailed(
        t,
        new Error(
          `thread ${this.names[t]} yielded something that is not a sched operation (use yield* on a Cell, Mutex, RwSem or Completion method)`,
        ),
      );
      return;
    }
    if (op.obj.host !== this) {
      this.threadFailed(
        t,
        new Error(
          `${op.obj.type} ${op.obj.name} was not created by this execution's setup() or threads: create shared objects in setup() so every execution starts fresh`,
        ),
      );
      return;
    }
    this.opKind[t] = op.kind;
    this.opObj[t] = op.obj as AnyPrim;
    this.opLo[t] = op.lo;
    this.opHi[t] = op.hi;
    // A down_write's wait half is its object's own op, yielded after the arrival: another thread's
    // down_write may have re-aimed it since. It continues the thread's own call, whose argument and
    // site the slots still hold.
    if (op.kind === K.DOWN_WRITE_WAIT) return;
    this.opArg[t] = op.arg;
    this.opSite[t] = op.site;
    this.opStack[t] = op.stack;
  }

  private threadFailed(t: number, e: unknown): void {
    this.status[t] = DEAD;
    this.gens[t] = null;
    if (e instanceof SearchBound) {
      if (!this.boundHit) this.boundMessage = `${this.names[t]}: ${e.message}`;
      this.boundHit = true;
      return;
    }
    this.threadDied = true;
    if (e instanceof Violation) {
      this.report('invariant', e.id, e.message, this.len, this.names[t]);
    } else {
      this.report('error', 'ERROR', `${this.names[t]}: ${errMsg(e)}`, this.len, this.names[t], errStack(e));
    }
  }

  private checkInvariant(after?: CheckedEvent): void {
    const inv = this.program.invariant;
    if (!inv) return;
    let r: string | undefined | void;
    try {
      r = inv.call(this.program, this.state, after);
    } catch (e) {
      if (e instanceof Violation) this.report('invariant', e.id, e.message, this.len);
      else if (e instanceof Violations)
        for (const v of e.all) this.report('invariant', v.id, v.message, this.len);
      else this.report('error', 'ERROR', `invariant threw: ${errMsg(e)}`, this.len, undefined, errStack(e));
      return;
    }
    if (typeof r === 'string') this.report('invariant', 'INVARIANT', r, this.len);
  }

  private report(
    kind: ViolationKind,
    id: string,
    message: string,
    length: number,
    thread?: string,
    stack?: string,
  ): void {
    const key = violationKey(kind, id, message);
    if (this.seenIds.has(key)) return;
    this.seenIds.add(key);
    const v: RawViolation = { kind, id, message, length };
    if (thread !== undefined) v.thread = thread;
    if (stack !== undefined) v.stack = stack;
    this.violations.push(v);
  }

  private computeClock(
    i: number,
    t: number,
    id: number,
    readLike: boolean,
    sc: number,
    visW: boolean,
    defer: number,
    lo: number,
    hi: number,
  ): void {
    this.clockInto(this.clocks, i, t, id, readLike, sc, visW, false, lo, hi);
    if (this.options.lazy) this.clockInto(this.dclocks, i, t, id, readLike, sc, visW, defer === 1, lo, hi);
  }

  /**
   * Event i's clock in c: its thread's previous event, the conflicting events before it on its
   * object (unless `skipObject`: a deferred lock event in dclocks), and with visW the last visible
   * writes of every thread in the scopes related to its own.
   */
  private clockInto(
    c: Int32Array,
    i: number,
    t: number,
    id: number,
    readLike: boolean,
    sc: number,
    visW: boolean,
    skipObject: boolean,
    lo: number,
    hi: number,
  ): void {
    const n = this.n;
    const base = i * n;
    const prev = this.thrLast[t]!;
    if (prev >= 0) c.copyWithin(base, prev * n, prev * n + n);
    else c.fill(0, base, base + n);
    c[base + t] = this.evSeq[i]!;
    if (!skipObject) {
      if (this.objSlots[id] === 1) {
        // Slots: every earlier conflicting event on overlapping slots, back to writes that cover
        // [lo, hi) (anything earlier on those slots conflicts with, so happens before, one of them).
        const cover = this.cover;
        cover.reset(lo, hi);
        // A read-like event follows the writes only: walk their chain, not every read since.
        const prev = readLike ? this.evPrevWrite : this.evPrevObj;
        for (let x = readLike ? this.evPrevWrite[i]! : this.evPrevObj[i]!; x >= 0; x = prev[x]!) {
          const xl = this.evLo[x]!;
          const xh = this.evHi[x]!;
          if (xl >= hi || lo >= xh) continue;
          const xr = isReadLike(this.evKind[x]!);
          if (xr && readLike) continue;
          join(c, base, x * n, n);
          if (!xr && cover.add(xl, xh)) break;
        }
      } else {
        const w = this.objLastW[id]!;
        if (w >= 0) join(c, base, w * n, n);
        if (!readLike) {
          for (let r = this.objReadsHead[id]!; r >= 0; r = this.evPrevRead[r]!) join(c, base, r * n, n);
        }
      }
    }
    if (visW) {
      const rel = this.dep.relatedTo[sc]!;
      const last = this.scopeLast;
      for (let q = 0; q < rel.length; q++) {
        const row = rel[q]! * n;
        for (let u = 0; u < n; u++) {
          const w = last[row + u]!;
          if (w >= 0) join(c, base, w * n, n);
        }
      }
    }
  }

  private afterOp(t: number, i: number, o: AnyPrim, k: number, result: unknown): void {
    if (this.options.recordTrace) {
      // A mutex's read-only section is the kernel's mutex_lock() (Mutex.lockReadOnly), said so.
      const readOnly = o.type === 'mutex' && (k === K.DOWN_READ || k === K.UP_READ);
      const op = readOnly ? (k === K.DOWN_READ ? 'lock' : 'unlock') : OP_NAME[k]!;
      const ev: TraceEvent = { thread: this.names[t]!, op, object: o.name };
      const site = this.opSite[t];
      if (site) ev.site = site;
      const stack = this.opStack[t];
      if (stack) ev.stack = stack;
      // A down_write always queues (rwsem.ts); the trace says so only when it had to wait.
      const shown =
        result === QUEUED
          ? rwsemBusy(this.evState[i]!)
            ? 'queued'
            : undefined
          : o.type === 'cell'
            ? shownCell(
                o as Cell<unknown>,
                k,
                result,
                this.shownBefore,
                this.opArg[t],
                this.evLo[i]!,
                this.evHi[i]!,
              )
            : printable(result);
      if (shown !== undefined) ev.result = shown;
      if (readOnly && k === K.DOWN_READ) ev.result = 'read-only section';
      const lo = this.evLo[i]!;
      const hi = this.evHi[i]!;
      if (lo !== ALL_LO || hi !== ALL_HI) ev.slots = [lo, hi];
      this.trace.push(ev);
    }
    if (!this.options.lockdep) return;
    switch (k) {
      case K.LOCK:
        this.lockdepAttempt(t, i, o, k);
        this.hold(t, o, 'lock');
        break;
      case K.DOWN_READ:
        this.lockdepAttempt(t, i, o, k);
        // A mutex's read-only section is an exclusive mutex_lock() in the kernel.
        this.hold(t, o, o.type === 'mutex' ? 'lock' : 'read');
        break;
      case K.DOWN_WRITE:
        this.lockdepAttempt(t, i, o, k);
        if (result !== QUEUED) this.hold(t, o, 'write');
        break;
      case K.DOWN_WRITE_WAIT:
        this.hold(t, o, 'write');
        break;
      case K.TRYLOCK:
        if (result === true) this.hold(t, o, 'lock');
        break;
      case K.TRY_DOWN_READ:
        if (result === true) this.hold(t, o, 'read');
        break;
      case K.TRY_DOWN_WRITE:
        if (result === true) this.hold(t, o, 'write');
        break;
      case K.UNLOCK:
      case K.UP_READ:
      case K.UP_WRITE: {
        const h = this.held[t]!;
        for (let j = h.length - 1; j >= 0; j--) {
          if (h[j]!.obj === o.id) {
            removeAt(h, j);
            break;
          }
        }
        break;
      }
    }
  }

  private hold(t: number, o: AnyPrim, mode: LockMode): void {
    this.held[t]!.push({
      obj: o.id,
      cls: this.lockClassOf(t, o),
      mode,
      site: this.opSite[t],
      stack: this.opStack[t],
    });
  }

  /** The lockdep class of thread t's pending acquisition of o: its class, and the subclass if any. */
  private lockClassOf(t: number, o: AnyPrim): string {
    const sub = this.opArg[t];
    const cls = (o as Mutex).lockClass;
    return typeof sub === 'number' && sub > 0 ? `${cls}/${sub}` : cls;
  }

  /** A (possibly blocking) acquisition attempt: edges from every held lock to this one. */
  private lockdepAttempt(t: number, i: number, o: AnyPrim, k: number): void {
    const ld = this.options.lockdep!;
    if (k !== K.LOCK && k !== K.DOWN_READ && k !== K.DOWN_WRITE && k !== K.DOWN_WRITE_WAIT) return;
    const cls = this.lockClassOf(t, o);
    const toMode: LockMode =
      k === K.LOCK || o.type === 'mutex' ? 'lock' : k === K.DOWN_READ ? 'read' : 'write';
    for (const h of this.held[t]!) {
      if (ld.has(h.cls, cls)) continue;
      ld.add({
        from: h.cls,
        to: cls,
        fromMode: h.mode,
        toMode,
        thread: this.names[t]!,
        event: i,
        schedule: this.evThread.slice(0, Math.min(i + 1, this.len)),
        ...(h.site ? { holdSite: h.site } : {}),
        ...(this.opSite[t] ? { acquireSite: this.opSite[t] } : {}),
        ...(h.stack ? { holdStack: h.stack } : {}),
        ...(this.opStack[t] ? { acquireStack: this.opStack[t] } : {}),
      });
    }
  }

  private grow(cap: number): void {
    this.cap = cap;
    this.evThread = grown(this.evThread, cap);
    this.evObj = grown(this.evObj, cap);
    this.evKind = grown(this.evKind, cap);
    this.evState = grown(this.evState, cap);
    this.evAfter = grown(this.evAfter, cap);
    this.evSeq = grown(this.evSeq, cap);
    this.evPrevObj = grown(this.evPrevObj, cap);
    this.evPrevThr = grown(this.evPrevThr, cap);
    this.evPreempt = grown(this.evPreempt, cap);
    this.evPrevRead = grown(this.evPrevRead, cap);
    this.evPrevWrite = grown(this.evPrevWrite, cap);
    this.evPrevSame = grown(this.evPrevSame, cap);
    this.evLo = grown(this.evLo, cap);
    this.evHi = grown(this.evHi, cap);
    this.evCutW = grownBytes(this.evCutW, cap);
    this.evDefer = grownBytes(this.evDefer, cap);
    if (this.options.clocks) this.clocks = grown(this.clocks, cap * this.n);
    if (this.options.clocks && this.options.lazy) this.dclocks = grown(this.dclocks, cap * this.n);
  }

  /** The last event on an object in this execution, -1 if none. */
  /** Does object `id` exist in this execution (registered since it began)? */
  isLive(id: number): boolean {
    return id < this.objCount && this.objEpoch[id] === this.executionNumber;
  }

  /** The current state code of object `id` (which must be live). */
  stateCodeOf(id: number): number {
    return this.objs[id]!.stateCode();
  }

  lastEventOn(obj: number): number {
    return this.objLastEv[obj]!;
  }

  /** Printable name of the pending operation of thread t. */
  pendingOp(t: number): string {
    return `${OP_NAME[this.opKind[t]!]} ${this.opObj[t]!.name}`;
  }

  /** Operation strings of the events so far (for schedule checksums). */
  opStrings(length = this.len): string[] {
    const out: string[] = [];
    for (let i = 0; i < length; i++) {
      out.push(
        `${this.names[this.evThread[i]!]} ${OP_NAME[this.evKind[i]!]} ${this.objNames[this.evObj[i]!]}`,
      );
    }
    return out;
  }
}

/** Row `base` of clocks c: a copy of event prev's row (zeros when prev < 0). */
function copyRow(c: Int32Array, base: number, prev: number, n: number): void {
  if (prev >= 0) c.copyWithin(base, prev * n, prev * n + n);
  else c.fill(0, base, base + n);
}

function join(c: Int32Array, dst: number, src: number, n: number): void {
  for (let k = 0; k < n; k++) {
    const v = c[src + k]!;
    if (v > c[dst + k]!) c[dst + k] = v;
  }
}

function grown(a: Int32Array<ArrayBuffer>, cap: number): Int32Array<ArrayBuffer> {
  if (a.length >= cap) return a;
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

function grownBytes(a: Uint8Array<ArrayBuffer>, cap: number): Uint8Array<ArrayBuffer> {
  if (a.length >= cap) return a;
  const b = new Uint8Array(cap);
  b.set(a);
  return b;
}

/**
 * Which slots of a range [lo, hi) a walk back over an object's writes has covered so far: a few
 * disjoint sorted intervals (walks stop as soon as the range is covered, so there are few).
 */
export class Coverage {
  // Intervals [from[m], to[m]) for m < count, sorted and disjoint; arrays kept between walks.
  private from = new Float64Array(8);
  private to = new Float64Array(8);
  private count = 0;
  private lo = 0;
  private hi = 0;

  reset(lo: number, hi: number): void {
    this.lo = lo;
    this.hi = hi;
    this.count = 0;
  }

  /** Adds [a, b) (clipped to the range); true when the whole range is covered. */
  add(a: number, b: number): boolean {
    if (a < this.lo) a = this.lo;
    if (b > this.hi) b = this.hi;
    if (a >= b) return false;
    let from = this.from;
    let to = this.to;
    const n = this.count;
    // Merge with every interval that touches [a, b).
    let j = 0;
    while (j < n && to[j]! < a) j++;
    let k = j;
    while (k < n && from[k]! <= b) {
      if (from[k]! < a) a = from[k]!;
      if (to[k]! > b) b = to[k]!;
      k++;
    }
    // Intervals [j, k) become the merged one.
    if (k === j) {
      if (n === from.length) {
        this.from = new Float64Array(n * 2);
        this.from.set(from);
        this.to = new Float64Array(n * 2);
        this.to.set(to);
        from = this.from;
        to = this.to;
      }
      from.copyWithin(j + 1, j, n);
      to.copyWithin(j + 1, j, n);
      this.count = n + 1;
    } else if (k > j + 1) {
      from.copyWithin(j + 1, k, n);
      to.copyWithin(j + 1, k, n);
      this.count = n - (k - j - 1);
    }
    from[j] = a;
    to[j] = b;
    return this.count === 1 && from[0]! <= this.lo && to[0]! >= this.hi;
  }
}

/** Removes a[j], keeping the order (splice would allocate the removed part). */
function removeAt<T>(a: T[], j: number): void {
  for (let m = j + 1; m < a.length; m++) a[m - 1] = a[m]!;
  a.length--;
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function errStack(e: unknown): string | undefined {
  return e instanceof Error ? e.stack : undefined;
}

/**
 * A value that can say what a read of some of its slots saw (Cell.readSlots), for traces: a read of
 * slots shows that, not the whole value.
 */
export interface SlotsShown {
  traceSlots(lo: number, hi: number): string;
}

/**
 * A value whose slots say exactly what a read of some of them saw (a page-table region): for
 * comparing two reads of the same slots.
 */
export interface SlotsKeyed {
  slotsKey(lo: number, hi: number): number | string;
}

/**
 * What a read saw, as a retry loop's place records it (Execution.samePlace). A read returns the
 * object's value itself. Values are replaced at each change (Cell.rmw), so the same object is the
 * same value; but a slotted value (a page-table region) is changed in place, one object whatever
 * its slots hold: what the slots read held (slotsKey) stands for it.
 */
function readContent(result: unknown, lo: number, hi: number): unknown {
  if (typeof result !== 'object' || result === null || !('slotsKey' in result)) return result;
  // A read of the whole of it is told apart from every other (no place with one ever matches).
  return lo === ALL_LO && hi === ALL_HI ? {} : (result as SlotsKeyed).slotsKey(lo, hi);
}

const FOLD_SEED_A = 0x811c9dc5 | 0;
/** Mixed into the hash lanes in place of a resultOnly call's events (callExit). */
const CALL_MARK = 0x2f6b3a19;
const FOLD_SEED_B = 0x01000193;

/**
 * A 32-bit code of what an event returned, by content (folded into its thread's local-state hash),
 * or null when it has none: an object not made of plain data (a unique token from readContent).
 */
function resultCode(v: unknown): number | null {
  switch (typeof v) {
    case 'undefined':
      return 0x1234567;
    case 'number':
      if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) return v ^ 0x5a5a5a5a;
      // A larger safe integer (a hashed read of several page-table entries): its two halves.
      if (Number.isSafeInteger(v))
        return Math.imul((v >>> 0) ^ 0x3c6ef372, 0x01000193) ^ Math.floor(v / 2 ** 32);
      return stringCode(String(v));
    case 'boolean':
      return v ? 0x2468ace : 0x13579bd;
    case 'string':
      return stringCode(`s${v}`);
    case 'symbol':
      return stringCode(`y${v.description ?? ''}`);
    case 'bigint':
      return stringCode(`b${v}`);
    case 'function':
      return null;
  }
  if (v === null) return 0x7654321;
  // An object with an identity code (a page table: Table.foldCode) counts by it.
  const fc = (v as { foldCode?: unknown }).foldCode;
  if (typeof fc === 'number') return fc;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== Array.prototype) return null;
  if (!Array.isArray(v) && Object.keys(v as object).length === 0) return null;
  return stringCode(hashGraph([v], () => undefined));
}

function stringCode(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Was an rw_semaphore whose state code (RwSem.stateCode) is `code` held or waited for? */
function rwsemBusy(code: number): boolean {
  return code !== 1;
}

/**
 * What a trace shows for an event on a cell: a read the value it saw (of the slots it read, for a
 * slotted cell); a write the value written; a change of some slots what they hold after it; a
 * read-modify-write of a count `old -> new`, and what
 * the operation returned when that is not the old count (a tryget's `true`/`false`); another
 * read-modify-write what it returned. Values are printed as the cell's `show` says.
 */
function shownCell(
  c: Cell<unknown>,
  k: number,
  result: unknown,
  before: unknown,
  arg: unknown,
  lo: number,
  hi: number,
): string | undefined {
  const show = (v: unknown): string | undefined => (c.show ? c.show(v) : printable(v));
  const slots = (v: unknown): string | undefined =>
    typeof v === 'object' && v !== null && 'traceSlots' in v && !(lo === ALL_LO && hi === ALL_HI)
      ? JSON.stringify((v as SlotsShown).traceSlots(lo, hi))
      : undefined;
  if (k === K.READ) return slots(result) ?? show(result);
  if (k === K.WRITE) return show(arg);
  const after = c.value;
  // A change of some slots (page-table entries): what they hold after it.
  const changed = result === undefined ? slots(after) : undefined;
  if (changed !== undefined) return changed;
  if (typeof before === 'number' && typeof after === 'number') {
    const change = `${show(before)} -> ${show(after)}`;
    if (result === undefined || result === before) return change;
    return `${change} (${typeof result === 'number' ? `returned ${show(result)}` : printable(result)})`;
  }
  return printable(result);
}

function printable(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'NULL';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Map) {
    if (v.size === 0) return 'empty';
    return `{${[...v].map(([a, b]) => `${printable(a)}: ${printable(b)}`).join(', ')}}`;
  }
  if (v instanceof Set) return v.size === 0 ? 'empty' : `{${[...v].map(printable).join(', ')}}`;
  try {
    const s = JSON.stringify(v);
    if (s !== undefined && s !== '{}') return s;
  } catch {
    // (cyclic: the class name below)
  }
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== 'Object' ? name : undefined;
}
