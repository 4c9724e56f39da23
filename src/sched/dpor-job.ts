// One execution of a parallel dpor search, run by a worker (dpor-parallel.ts is the coordinator).
// A job names the execution exactly as the sequential search would run it: the prefix of threads
// to replay, the sleep set of the node where its branch is taken, and the branch itself with the
// first child below it down to a leaf. The worker runs it, choosing freely past the branch as
// dpor.ts does, finds its races, and sends back the events, the reversals of its races (not
// inserted: the coordinator inserts them in the sequential order) and what the collector and
// lockdep would have recorded. Nothing in the result depends on which worker ran the job or on
// what it ran before.

import { Collector, violationKey } from './collector.js';
import { CutChecker } from './cuts.js';
import { freeChoice, noChoice } from './dpor.js';
import { Execution, type NewId } from './execution.js';
import { hash64 } from './fingerprint.js';
import { Lockdep, type SavedEdge } from './lockdep.js';
import type { ExploreOptions, Incompleteness, Program, SavedIds, ViolationReport } from './program.js';
import { DEFAULT_MAX_STEPS } from './program.js';
import { RaceFinder } from './races.js';
import { insertBranch, Node, OPW, propagateSleep, Seq, type WuNode } from './wakeup.js';

/** What the coordinator has learnt since it last wrote to this worker (every job carries it). */
export interface SyncDelta {
  /** Object numbering: [id, creator, index] or [id, key]. */
  ids: ([number, number, number] | [number, string])[];
  /** Visible objects: [id, scope]. */
  visible: [number, string][];
  /** Violations recorded, with their fewest preemptions: a worker need not build their reports again. */
  violations: [string, number][];
  /** Lock-order edges recorded ("from\0to"). */
  edges: string[];
  /** Cut violations already turned into counterexamples. */
  cutKeys: string[];
}

export interface DporJob {
  id: number;
  /** Threads of the events to replay. */
  prefix: Int32Array;
  /** Sleep set of the node after the prefix, as operations (OPW numbers each: thread, object, kind, lo, hi). */
  sleep: Int32Array;
  /** The branch, then its first child, down to a leaf, as operations (empty for the first execution). */
  chain: Int32Array;
  sync: SyncDelta;
}

/** One occurrence of a violation, as Collector.offer saw it (report only when it may be needed). */
export interface Offer {
  key: string;
  pre: number;
  report?: ViolationReport;
  /** Set when the offer reports the counterexample of a cut violation with this key. */
  cut?: string;
}

export interface DporJobResult {
  id: number;
  /** Events after the prefix as operations (OPW numbers each), in the worker's numbering. */
  events: Int32Array;
  /** Number of nodes the execution opened past the prefix's: the last node is prefix + nodes. */
  nodes: number;
  /** Chain entries taken (the last may not have run: blocked or cut by the bound). */
  taken: number;
  /** Position of the first free choice (nodes from here on are the execution's own), -1 if none. */
  free: number;
  /** Race reversals in the order found: event b, length m, then m operations. */
  races: Int32Array;
  /** 0: a finished execution (counted); 1: aborted (its violations are taken, it is not counted). */
  outcome: 0 | 1;
  deadlocked: boolean;
  /** Stopped by the step limit or the preemption bound (counted executions only). */
  cut: boolean;
  blocked: number;
  /** The preemption bound pruned a branch. */
  incomplete: boolean;
  /** Why, when incomplete (or cut). */
  reasons?: Incompleteness[];
  offers: Offer[];
  cutStates: number;
  edges: SavedEdge[];
  fingerprint?: string;
  /** A thread was stopped at a retry cycle (counted executions only). */
  cycle?: boolean;
  newIds: NewId[];
  /** Ids from here on are the worker's own (newIds renumbers them); below, the coordinator's. */
  idBase: number;
  /** The worker goes on with the execution that follows this one (see DporJobRunner.runAll). */
  cont?: boolean;
  /** A continuation: the job it went on from, how many executions after it, and its inputs. */
  head?: number;
  step?: number;
  job?: Pick<DporJob, 'prefix' | 'sleep' | 'chain'>;
}

const NO_SYNC: SyncDelta = { ids: [], visible: [], violations: [], edges: [], cutKeys: [] };

/** A collector that logs each violation occurrence for the coordinator instead of keeping it. */
class RecordingCollector extends Collector {
  log: Offer[] = [];
  known = new Map<string, number>();
  private cutKey: string | undefined = undefined;

  override offer(key: string, pre: number, build: () => ViolationReport): void {
    const k = this.known.get(key);
    const o: Offer = { key, pre };
    // The coordinator's record only improves, so a report it had with as few preemptions at
    // dispatch will not be replaced: no need to build (and send) this one.
    if (k === undefined || k > pre) o.report = build();
    if (this.cutKey !== undefined) o.cut = this.cutKey;
    this.log.push(o);
    if (this.options.stopAtFirst) this.stop('stopAtFirst', 'stopped at the first violation');
  }

  override underCut(key: string, report: () => void): void {
    this.cutKey = key;
    try {
      report();
    } finally {
      this.cutKey = undefined;
    }
  }
}

/**
 * Lockdep for one job: it records only edges the coordinator does not know, so an execution does
 * not copy a schedule for every edge it makes again.
 */
class JobLockdep extends Lockdep {
  readonly known = new Set<string>();
  override has(from: string, to: string): boolean {
    return this.known.has(`${from}\0${to}`) || super.has(from, to);
  }
}

/** Runs jobs on one program (one per worker). */
export class DporJobRunner<S> {
  private readonly ex: Execution<S>;
  private readonly lockdep = new JobLockdep();
  private readonly col: RecordingCollector;
  private readonly cutChecker: CutChecker<S> | null;
  private readonly races: RaceFinder<S>;
  private readonly v: Seq;
  private readonly bound: number;
  private nodes: Node[] = [];
  private raceBuf = new Int32Array(256);
  private raceLen = 0;
  private readonly ids: SavedIds;
  /** The coordinator's visible objects and their scopes. */
  private readonly scopes = new Map<number, string>();
  private readonly cutKeys = new Set<string>();
  private lastFree = -1;
  private lastDepth = 0;
  /** Events of the last execution run here (their clocks are still in the executor): 0 when none. */
  private lastLen = 0;

  constructor(
    program: Program<S>,
    private readonly options: ExploreOptions,
    cuts: boolean,
  ) {
    const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
    const lazy = options.lazyLocks === true && !cuts;
    this.ex = new Execution(program, { clocks: true, lockdep: this.lockdep, maxSteps, cuts, lazy });
    this.col = new RecordingCollector('dpor', options);
    this.cutChecker = cuts ? new CutChecker(this.ex, program, this.col, maxSteps) : null;
    this.bound = options.preemptionBound ?? Number.POSITIVE_INFINITY;
    this.races = new RaceFinder(this.ex, (b, j, t, o, k, lo, hi) => this.record(b, j, t, o, k, lo, hi));
    this.v = new Seq(this.races.dependent);
    this.ids = this.ex.saveIds();
  }

  private record(b: number, j: number, t: number, o: number, k: number, lo: number, hi: number): void {
    const v = this.v;
    this.races.reversal(b, j, t, o, k, lo, hi, v);
    const need = this.raceLen + 2 + v.length * OPW;
    if (need > this.raceBuf.length) {
      const g = new Int32Array(Math.max(need, this.raceBuf.length * 2));
      g.set(this.raceBuf.subarray(0, this.raceLen));
      this.raceBuf = g;
    }
    const r = this.raceBuf;
    let p = this.raceLen;
    r[p++] = b;
    r[p++] = v.length;
    for (let i = 0; i < v.length; i++) {
      r[p++] = v.thread[i]!;
      r[p++] = v.obj[i]!;
      r[p++] = v.kind[i]!;
      r[p++] = v.lo[i]!;
      r[p++] = v.hi[i]!;
    }
    this.raceLen = p;
  }

  private applySync(s: SyncDelta): void {
    for (const e of s.ids) {
      const id = e[0];
      if (e.length === 2) this.ids.byKey.push([e[1], id]);
      else this.ids.byCreator[e[1]]![e[2]] = id;
      if (id >= this.ids.count) this.ids.count = id + 1;
    }
    for (const [id, scope] of s.visible) this.scopes.set(id, scope);
    for (const [k, pre] of s.violations) {
      const old = this.col.known.get(k);
      if (old === undefined || pre < old) this.col.known.set(k, pre);
    }
    for (const e of s.edges) this.lockdep.known.add(e);
    for (const k of s.cutKeys) this.cutKeys.add(k);
  }

  private node(i: number): Node {
    let nd = this.nodes[i];
    if (nd === undefined) {
      nd = new Node();
      this.nodes[i] = nd;
    }
    return nd;
  }

  /**
   * Runs a job, then (with `continueUpTo` > 0) as many of the executions that follow it in the
   * sequential order as are its own to decide, up to that many: each time the execution just run
   * opened nodes by free choice and its races left pending branches there, the next execution of
   * the sequential search is the first of them at the deepest such node. Its inputs are known here
   * without the coordinator, so it runs at once (no round trip). Each result goes to `send`.
   */
  runAll(
    job: DporJob,
    continueUpTo: number,
    send: (r: DporJobResult) => void,
    /** Asked after each result sent with cont set: false withdraws the continuation (see ParallelDpor.withdraw). */
    keepGoing: () => boolean = () => true,
  ): void {
    let r = this.run(job, true);
    for (let k = 1; k <= continueUpTo; k++) {
      const next = this.continuation();
      if (next === null) break;
      r.cont = true;
      send(r);
      if (!keepGoing()) return;
      r = this.run(next, false);
      r.head = job.id;
      r.step = k;
      r.job = { prefix: next.prefix, sleep: next.sleep, chain: next.chain };
    }
    send(r);
  }

  /**
   * The next execution when it lies in the nodes the last one opened by free choice: their wakeup
   * trees hold only that execution's own races, inserted here as the coordinator inserts them.
   */
  private continuation(): DporJob | null {
    const free = this.lastFree;
    if (free < 0) return null;
    for (let p = free; p <= this.lastDepth; p++) {
      const nd = this.nodes[p]!;
      if (nd.wut.length !== 0) nd.wut = [];
      nd.wutHead = 0;
    }
    const rc = this.raceBuf;
    const v = this.v;
    let any = false;
    for (let p = 0; p < this.raceLen; ) {
      const b = rc[p]!;
      const m = rc[p + 1]!;
      p += 2;
      if (b < free) {
        p += m * OPW;
        continue;
      }
      v.reset();
      for (let j = 0; j < m; j++, p += OPW) v.push(rc[p]!, rc[p + 1]!, rc[p + 2]!, rc[p + 3]!, rc[p + 4]!);
      insertBranch(this.nodes[b]!, v);
      any = true;
    }
    if (!any) return null;
    const ex = this.ex;
    for (let q = this.lastDepth; q >= free; q--) {
      const nd = this.nodes[q]!;
      if (nd.wut.length === 0) continue;
      const sleep: number[] = nd.sleepOps();
      sleep.push(ex.evThread[q]!, ex.evObj[q]!, ex.evKind[q]!, ex.evLo[q]!, ex.evHi[q]!);
      const chain: number[] = [];
      for (let c: WuNode | null = nd.wut[0]!; c !== null; c = c.children.length > 0 ? c.children[0]! : null)
        chain.push(c.thread, c.obj, c.kind, c.lo, c.hi);
      return {
        id: -1,
        prefix: ex.evThread.slice(0, q),
        sleep: Int32Array.from(sleep),
        chain: Int32Array.from(chain),
        sync: NO_SYNC,
      };
    }
    return null;
  }

  /**
   * Replays the job's prefix. The events it shares with the last execution run here keep the
   * clocks and deferred lock races computed then, as the sequential search's replay does
   * (dpor.ts); the rest are computed afresh. Kept only while the numbering cannot have changed
   * (the job brings no new object ids or scopes), and checked event by event: an event that is
   * not what it was (an object numbered differently) replays the whole prefix afresh.
   */
  private replayPrefix(job: DporJob, fresh: boolean): void {
    const ex = this.ex;
    const x = job.prefix.length;
    let keep = 0;
    if (!fresh || (job.sync.ids.length === 0 && job.sync.visible.length === 0)) {
      const last = Math.min(this.lastLen, x);
      while (keep < last && ex.evThread[keep] === job.prefix[keep]) keep++;
    }
    this.lastLen = 0;
    for (;;) {
      this.races.truncate(keep);
      ex.begin();
      ex.replaying = true;
      let same = true;
      for (let i = 0; i < keep; i++) {
        const t = job.prefix[i]!;
        const o = ex.evObj[i];
        const k = ex.evKind[i];
        const lo = ex.evLo[i];
        const hi = ex.evHi[i];
        if (t >= ex.n || !ex.enabled(t)) {
          same = false;
          break;
        }
        ex.step(t);
        if (ex.evObj[i] !== o || ex.evKind[i] !== k || ex.evLo[i] !== lo || ex.evHi[i] !== hi) {
          same = false;
          break;
        }
      }
      ex.replaying = false;
      if (same) break;
      keep = 0;
    }
    for (let i = keep; i < x; i++) {
      const t = job.prefix[i]!;
      if (t >= ex.n || !ex.enabled(t))
        throw new Error(`parallel dpor: a job's prefix does not fit the program (event ${i})`);
      ex.step(t);
      // These clocks are computed afresh here: their deferred lock races too.
      this.races.rebuild(i);
    }
  }

  /** Runs one job; `fresh`: a job from the coordinator (else a continuation of the last one). */
  run(job: DporJob, fresh = true): DporJobResult {
    const ex = this.ex;
    const col = this.col;
    const bound = this.bound;
    const options = this.options;
    // A continuation keeps the numbering of the execution it continues: its inputs use it.
    if (fresh) {
      this.applySync(job.sync);
      ex.adoptIds(this.ids, this.scopes);
    }
    this.lockdep.clear();
    col.log = [];
    col.restart();
    col.blocked = 0;
    col.cutStates = 0;
    this.cutChecker?.setReported(this.cutKeys);
    this.raceLen = 0;
    const x = job.prefix.length;
    const first = this.node(x);
    first.clearSleep();
    first.sleepAll(job.sleep);
    const chainN = job.chain.length / OPW;

    this.replayPrefix(job, fresh);
    let depth = x;
    const advance = (pos: number, t: number): void => {
      ex.step(t);
      if (ex.stepLimitHit) return;
      propagateSleep(
        this.node(pos),
        this.node(pos + 1),
        t,
        ex.evObj[pos]!,
        ex.evKind[pos]!,
        ex.evLo[pos]!,
        ex.evHi[pos]!,
        this.races.dependent,
      );
      depth = pos + 1;
      this.races.detectAt(pos);
    };
    let ok = true;
    let pos = x;
    let taken = 0;
    let free = -1;
    if (chainN > 0) {
      const t = job.chain[0]!;
      taken = 1;
      if (!ex.enabled(t) || (ex.wouldPreempt(t) && ex.preemptions >= bound)) {
        if (ex.enabled(t)) col.cutByBound(bound);
        else {
          // As in dpor.ts: a branch whose first thread cannot run counts no violations (the
          // replayed prefix's were counted by the execution that ran it first).
          col.blocked++;
          ex.violations.length = 0;
        }
        ok = false;
      } else {
        advance(pos, t);
        pos++;
      }
    }
    while (ok && !ex.stepLimitHit) {
      if (options.stopAtFirst) {
        col.take(ex);
        if (col.stopped) break;
      }
      if (taken > 0 && taken < chainN) {
        const t = job.chain[taken * OPW]!;
        taken++;
        if (!ex.enabled(t)) {
          col.blocked++;
          ok = false;
          break;
        }
        if (ex.wouldPreempt(t) && ex.preemptions >= bound) {
          col.cutByBound(bound);
          ok = false;
          break;
        }
        advance(pos, t);
        pos++;
        continue;
      }
      // Free choice, as in dpor.ts: the last thread if it can run, else the lowest-numbered one.
      const node = this.node(pos);
      const choice = freeChoice(ex, node, pos, bound);
      if (choice < 0) {
        ok = noChoice(col, choice);
        break;
      }
      if (free < 0) free = pos;
      advance(pos, choice);
      pos++;
    }
    this.cutChecker?.check(x);
    let outcome: 0 | 1 = 1;
    let deadlocked = false;
    let cut = false;
    let fingerprint: string | undefined;
    if (ex.stepLimitHit || (ok && !col.stopped)) {
      if (!ex.stepLimitHit && ex.anyUnfinished()) this.races.detectBlocked();
      deadlocked = ex.stepLimitHit ? false : ex.finish();
      outcome = 0;
      cut = ex.stepLimitHit || ex.boundHit;
      if (cut) col.cutExecution(ex);
      if (options.coverage) fingerprint = hash64(ex.evThread.subarray(0, ex.len).join(','));
    }
    col.take(ex);
    const len = ex.len;
    const events = new Int32Array((len - x) * OPW);
    for (let i = x, p = 0; i < len; i++) {
      events[p++] = ex.evThread[i]!;
      events[p++] = ex.evObj[i]!;
      events[p++] = ex.evKind[i]!;
      events[p++] = ex.evLo[i]!;
      events[p++] = ex.evHi[i]!;
    }
    const edges: SavedEdge[] = this.lockdep.edgeCount > 0 ? this.lockdep.save() : [];
    this.lastFree = free;
    this.lastDepth = depth;
    this.lastLen = ex.len;
    const out: DporJobResult = {
      id: job.id,
      events,
      nodes: depth - x,
      taken,
      free,
      races: this.raceBuf.slice(0, this.raceLen),
      outcome,
      deadlocked,
      cut,
      blocked: col.blocked,
      incomplete: !col.complete,
      ...(col.complete && !cut ? {} : { reasons: col.incompleteness() }),
      offers: col.log,
      cutStates: col.cutStates,
      edges,
      newIds: ex.idsSince(this.ids.count),
      idBase: this.ids.count,
    };
    if (fingerprint !== undefined) out.fingerprint = fingerprint;
    if (outcome === 0 && ex.cycleHit) out.cycle = true;
    return out;
  }
}

export { violationKey };
