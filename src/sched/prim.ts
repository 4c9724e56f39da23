// The base of every shared object (Cell, Mutex, RwSem, Completion) and the hook through which a
// primitive learns which execution created it.

import { encodeValue } from './fingerprint.js';
import { capture, K } from './op.js';

export { captureSite, captureStack, kernelName } from './site.js';

/** What the running execution offers to primitives. Set by the executor, null outside one. */
export interface Host {
  /** A stable id for an object: the same object gets the same id in every replay of a prefix. */
  register(p: Prim): number;
  /** True while acquisition sites are being recorded (replays for reports, not the search). */
  captureSites: boolean;
  /** True while the program's setup() runs. */
  readonly inSetup: boolean;
  /** Program.readOnlySections: Mutex.lockReadOnly() sections may overlap. */
  readonly readOnlySections: boolean;
  /**
   * Executions begun on this host: one host runs execution after execution, so model state keyed
   * by the host (such as queued task work) must be keyed by this too, or it leaks into the next.
   */
  readonly executionNumber: number;
  /**
   * True when no other thread can ever run again in this execution (setup, or every other thread
   * has returned or died): what the running code does next cannot interleave with anything.
   */
  readonly alone: boolean;
  /** The index of the thread whose code is running; -1 during setup. */
  readonly currentThread: number;
  /** Events run so far in this execution (model layers mark what happened between events). */
  readonly eventCount: number;
  /**
   * The program says what its threads share outside sched objects (Program.sharedState), so the
   * executor can tell when a retry loop's iteration begins in a state it was already in (loop.ts).
   */
  readonly comparesStates?: boolean;
  /** The running thread is at the top of an iteration of a retry loop (loop.ts). */
  loopHead?(invocation: object): void;
  /** The running thread leaves that loop (loop.ts). */
  loopEnd?(invocation: object): void;
  /** The running thread calls a function whose only effect on it is its result (loop.ts: resultOnly); returns a mark for callExit. */
  callEnter?(): number;
  /** That call returns `value` (`ok`), or throws (its events stay in the thread's local state). */
  callExit?(mark: number, ok: boolean, value: unknown): void;
  /**
   * The running thread, holding lock `p`, touches data the lock guards that is not modelled as
   * objects (Mutex.plainData): its critical sections of `p` are ordered eagerly from now on.
   */
  plainAccess?(p: Prim): void;
}

let host: Host | null = null;

export function setHost(h: Host | null): void {
  host = h;
  capture.on = h?.captureSites ?? false;
}

export function currentHost(): Host | null {
  return host;
}

/**
 * The thread whose code is running (-1 during setup, -2 outside any execution): for model code
 * that keeps per-task state, such as work deferred to the return to user space.
 */
export function currentThread(): number {
  return host ? host.currentThread : -2;
}

/** Prim fields that are identity or configuration, not state. */
const SKIP = new Set([
  'name',
  'key',
  'id',
  'host',
  'type',
  'lockClass',
  'slots',
  'atomicSections',
  'guardsPlainData',
  'show',
  'guardedBy',
  'readOnlySections',
]);

/** Prim.stateFields per class. */
const STATE_FIELDS = new Map<unknown, { all: number; fields: string[] }>();

export type PrimType = 'cell' | 'mutex' | 'rwsem' | 'completion';

export interface PrimOptions {
  /**
   * A stable identity for an object that more than one thread might be the first to create (a
   * page table allocated by whichever fault comes first): objects with the same key are the same
   * object in every execution. Without a key, an object is known by the thread that created it
   * and how many it had created before. A key must be unique within an execution.
   */
  key?: string;
  /**
   * The object is an array of slots (the entries of a page table): each event on it names the
   * slots [lo, hi) it touches, and events on disjoint slots do not conflict. Cells only.
   */
  slots?: boolean;
  /** Locks: critical sections that never wait (LockOptions.atomicSections in mutex.ts). */
  atomicSections?: boolean;
  /** Locks: sections that touch data that is not modelled as objects (LockOptions.guardsPlainData). */
  guardsPlainData?: boolean;
}

export abstract class Prim {
  /** Stable id within the running exploration; -1 when created outside any execution. */
  readonly id: number;
  /** The host that created this object: an op on it from another execution is a model bug. */
  readonly host: Host | null;
  abstract readonly type: PrimType;

  readonly key: string | undefined;
  /** Events name the slots they touch (PrimOptions.slots). */
  readonly slots: boolean;
  /** A lock whose critical sections never wait (PrimOptions.atomicSections). */
  readonly atomicSections: boolean;
  /** A lock whose sections touch plain data: never handled lazily (PrimOptions.guardsPlainData). */
  readonly guardsPlainData: boolean;

  constructor(
    readonly name: string,
    options: PrimOptions = {},
  ) {
    this.key = options.key;
    this.slots = options.slots === true;
    this.atomicSections = options.atomicSections === true;
    this.guardsPlainData = options.guardsPlainData === true;
    this.host = host;
    this.id = host ? host.register(this) : -1;
  }

  /**
   * A small integer that says, for the blockable kinds, whether they could run now (see enabledIn).
   * Recorded before and after each event so the explorer can ask "could that blocked operation have
   * run before this event?". The change a read-like event makes to it must not depend on what other
   * read-like events did (it is a sum): then the explorer can add up the effects of the read-like
   * events it moves along with an operation.
   */
  stateCode(): number {
    return 0;
  }

  /**
   * The state code after an operation of `kind` by thread `t` from state code `code`, when the
   * code alone determines it; -1 when it does not (the explorer then assumes nothing). Used to
   * check that lock events can run in an order other than the one they ran in (races.ts).
   */
  nextCode(_kind: number, _t: number, _code: number): number {
    return -1;
  }

  /**
   * The kind an operation of `kind` runs as, decided when it runs (from this object's state).
   * Only RefCount refines (K.REF_SCOPED to K.RMW when its scoped references do not commute).
   */
  refine(kind: number): number {
    return kind;
  }

  /** This object's state, for state fingerprints: its data fields (a Cell's value, a lock's holders). */
  fingerprint(): string {
    const o = this as unknown as Record<string, unknown>;
    return this.stateFields()
      .map((k) => `${k}=${encodeValue(o[k])}`)
      .join(';');
  }

  /**
   * The fields that hold this object's state (a Cell's value, a lock's holders and queue), for
   * comparing two states of an execution (hashGraph in fingerprint.ts, used by loop.ts).
   */
  stateFields(): string[] {
    // The same for every object of a class (fields are set in constructors): kept per class.
    const o = this as unknown as Record<string, unknown>;
    const keys = Object.keys(o);
    const cached = STATE_FIELDS.get(this.constructor);
    // An object with other fields than the first of its class (a field set conditionally): its own.
    if (cached !== undefined && cached.all === keys.length) return cached.fields;
    const fields = keys.filter((k) => {
      if (SKIP.has(k)) return false;
      const v = o[k];
      // Cached operation objects (RwSem's down_write ops) are not state.
      return typeof v !== 'function' && !(v !== null && typeof v === 'object' && 'kind' in v && 'obj' in v);
    });
    if (cached === undefined) STATE_FIELDS.set(this.constructor, { all: keys.length, fields });
    return fields;
  }

  /** One line on who holds this object, for deadlock reports. */
  describeHolders(_names: readonly string[]): string {
    return '';
  }
}

/** True if an operation of `kind` by thread `t` is enabled in the state encoded by `code`. */
export function enabledIn(kind: number, t: number, code: number): boolean {
  switch (kind) {
    case K.LOCK:
      // A mutex's code is 1 when it is free (Mutex.stateCode).
      return code === 1;
    case K.DOWN_READ:
      return (code & 1) === 1;
    case K.DOWN_WRITE_WAIT:
      return (code & 2) === 0 && code >> 10 === 0 && ((code >> 2) & 0xff) === t + 1;
    case K.WAIT:
      return code > 0;
    default:
      return true;
  }
}
