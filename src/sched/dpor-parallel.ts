// Optimal DPOR over several workers, with exactly the result of the sequential search (dpor.ts):
// the same executions in the same order, the same counts, violations and counterexamples.
//
// Sibling branches of a DPOR tree are not independent: races found under one branch are inserted
// into the wakeup trees of nodes above it, and may pass down into a later sibling's subtree, so a
// later sibling explored early would see a different tree. Instead the coordinator keeps the one
// tree and commits executions strictly in the sequential order, while workers run executions ahead
// of it (speculation). What makes this exact:
//
// - An execution is a function of its inputs: the prefix to replay, the sleep set of the node where
//   its branch is taken, and the branch's first-child chain down to a leaf (dpor-job.ts). Wakeup
//   trees only grow by appending after existing branches and never below a leaf, so a pending
//   branch keeps its chain, and its sleep set at the time it is taken is the node's sleep set plus
//   the branches before it: both are known as soon as the branch is. The coordinator checks them
//   again when the execution's turn comes, and runs it again if they differ.
// - A worker only finds an execution's races; inserting them is the coordinator's. Races reversed
//   at nodes the execution itself opened by free choice (their wakeup trees start empty and only
//   this execution and those below it touch them) are inserted when the result arrives, so the
//   branches they create can be run ahead too. Races at older nodes are inserted when the
//   execution is committed, in the sequential order.
// - Collector and lockdep effects travel as data (the violation occurrences, new edges) and are
//   applied at commit, in order; a limit or a stop leaves later speculative results unused.
//
// Which speculative executions to run: the pending branches nearest in the sequential order,
// found by walking the tree depth first from the execution to commit next.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { Collector } from './collector.js';
import { Dependence } from './dependence.js';
import { usesCuts } from './dpor.js';
import { type DporJob, type DporJobResult, DporJobRunner, type SyncDelta } from './dpor-job.js';
import type { Lockdep } from './lockdep.js';
import type { DporCheckpoint, ExplorationCheckpoint, ExploreOptions, Program } from './program.js';
import {
  dporFractionDone,
  insertBranch,
  loadBranch,
  Node,
  OPW,
  propagateSleep,
  Seq,
  saveBranch,
  savedOps,
  type WuNode,
} from './wakeup.js';

/** A node of the coordinator's tree: which execution opened it, and where. */
class PNode extends Node {
  /** The branch in progress here (its subtree not done), as an operation; thread -1 when none. */
  curT = -1;
  curO = -1;
  curK = -1;
  curL = 0;
  curH = 0;
  /** 1 while the first pending entry is the chain step of an uncommitted execution through here. */
  skip = 0;
  constructor(
    readonly run: Run,
    readonly pos: number,
  ) {
    super();
  }
}

interface Run {
  id: number;
  job: DporJob;
  /** The branch (null for the first execution) and its chain of wakeup-tree entries. */
  branch: WuNode | null;
  chain: WuNode[];
  /** Prefix length. */
  x: number;
  arrived: boolean;
  /** Also sent to a second executor (hedge). */
  hedged?: boolean;
  committed: boolean;
  dead: boolean;
  res?: DporJobResult;
  /** Threads of the whole execution. */
  threads?: Int32Array;
  len: number;
  depth: number;
  /** The nodes the execution opened: positions base..depth. */
  base: number;
  nodes: PNode[];
}

interface SyncState {
  ids: number;
  visible: number;
  violations: number;
  edges: number;
  cutKeys: number;
}

/** Uncommitted executions (running or waiting for their turn) allowed per worker. */
const AHEAD_PER_WORKER = 256;

export class ParallelDpor<S> {
  readonly col: Collector;
  readonly cuts: boolean;
  private readonly n: number;
  /** Every object visible in one scope (an invariant without observes). */
  private readonly allVisible: boolean;
  /** Scopes of the visible objects, learnt from the workers. */
  private readonly dep: Dependence;
  private readonly v: Seq;
  // The object numbering (the coordinator's is the one every worker adopts).
  private idCount = 0;
  private readonly byCreator: number[][];
  private readonly byKey = new Map<string, number>();
  // What workers must learn, in order (each worker has read a prefix of each log).
  private readonly idLog: ([number, number, number] | [number, string])[] = [];
  private readonly visLog: [number, string][] = [];
  private readonly violationLog: [string, number][] = [];
  private readonly edgeLog: string[] = [];
  private readonly cutLog: string[] = [];
  private readonly syncs: SyncState[] = [];
  private readonly cutReported = new Set<string>();
  /** The preemptions last sent to workers per violation key. */
  private readonly logged = new Map<string, number>();
  // The search.
  private readonly runOf = new Map<WuNode, Run>();
  private readonly runs = new Map<number, Run>();
  /** Runs a worker went on to by itself, by "job/step" (the job it went on from, how far). */
  private readonly contRun = new Map<string, Run>();
  private nextId = 0;
  private rootRun: Run | null = null;
  private started = false;
  private path: PNode[] = [];
  private pathT = new Int32Array(256);
  private pathO = new Int32Array(256);
  private pathK = new Int32Array(256);
  private pathL = new Int32Array(256);
  private pathH = new Int32Array(256);
  private next = 0;
  private forced: WuNode | null = null;
  private outstanding = 0;
  private readonly ahead: number;
  private readonly programName: string;
  private lastSaved = Date.now();
  private savedAt = 0;
  done = false;
  /** Executions run again because their inputs had changed by their turn (expected: none). */
  rerun = 0;
  /** Executions whose result arrived before their turn. */
  speculated = 0;
  /** Results received, used or not (a hedged execution's second copy, a withdrawn continuation's...). */
  received = 0;
  /** Results committed. */
  committed = 0;

  constructor(
    program: Program<S>,
    private readonly options: ExploreOptions,
    private readonly lockdep: Lockdep,
    workers: number,
    /** Sees the threads of every committed complete execution, in order (tests). */
    private readonly observe?: (threads: Int32Array) => void,
  ) {
    this.col = new Collector('dpor', options);
    this.col.estimate = () => dporFractionDone(this.path, this.path.length - 1);
    this.cuts = usesCuts(program, options);
    if (this.cuts) this.col.cutStates = 0;
    this.n = Object.keys(program.threads).length;
    this.allVisible = !this.cuts && !!program.invariant && !program.observesObject && !program.observes;
    this.byCreator = Array.from({ length: this.n + 1 }, () => []);
    this.dep = new Dependence(program.scopesRelated?.bind(program));
    this.v = new Seq(this.dep.dependent);
    this.ahead = Math.max(2, workers) * AHEAD_PER_WORKER;
    for (let w = 0; w < workers; w++)
      this.syncs.push({ ids: 0, visible: 0, violations: 0, edges: 0, cutKeys: 0 });
    this.programName = program.name ?? '';
    if (options.resume) this.resumeFrom(options.resume);
  }

  private get dependent(): Dependence['dependent'] {
    return this.dep.dependent;
  }

  /**
   * The execution the commit waits for, again, for executor w to run as well: the first of the two
   * results to arrive is used, the other ignored (both are the same execution). Null when the
   * commit does not wait on a sent execution. `_w`: the executor (any: the job carries every log).
   */
  hedge(_w: number): DporJob | null {
    const f = this.forced;
    const r = f ? this.runOf.get(f) : undefined;
    if (!r || r.arrived || r.hedged) return null;
    r.hedged = true;
    // Everything, not the delta since the last job sent to w: a hedged job can run before jobs
    // already queued for w, whose deltas it would otherwise lack (applying a sync is idempotent).
    return { ...r.job, sync: this.fullSync() };
  }

  /** Every log from its start (a job that may overtake others sent to the same executor). */
  private fullSync(): SyncDelta {
    return {
      ids: this.idLog.slice(),
      visible: this.visLog.slice(),
      violations: this.violationLog.slice(),
      edges: this.edgeLog.slice(),
      cutKeys: this.cutLog.slice(),
    };
  }

  /** Where the search stands (for an error report when it cannot go on). */
  describe(): string {
    const f = this.forced;
    const r = f ? this.runOf.get(f) : undefined;
    return `started ${this.started}, next ${this.next}, outstanding ${this.outstanding}, runs ${this.runs.size}, continuations ${this.contRun.size}, forced run ${r ? `${r.id} arrived ${r.arrived} dead ${r.dead}` : 'none'}`;
  }

  /** Executions sent to workers and not yet committed. */
  get inFlight(): number {
    return this.outstanding;
  }

  // ---- dispatch ----

  /** Up to `max` jobs for worker w, nearest first in the sequential order. */
  jobsFor(w: number, max: number): DporJob[] {
    const out: DporJob[] = [];
    if (this.done || max <= 0) return out;
    if (!this.started) {
      if (this.rootRun === null) {
        this.rootRun = this.newRun(null, null, []);
        out.push(this.send(this.rootRun, w));
      }
      return out;
    }
    const found: { node: PNode | null; i: number }[] = [];
    const want = Math.min(max, this.ahead - this.outstanding);
    if (want <= 0) {
      // At the limit, only the execution the commit waits for may go.
      const f = this.forced;
      if (f && !this.runOf.has(f)) found.push({ node: null, i: -1 });
    } else this.walk(found, want);
    for (const c of found) {
      let run: Run;
      if (c.node === null) run = this.newRun(this.path[this.next]!, this.forced!, []);
      else run = this.newRun(c.node, c.node.wut[c.i]!, this.inProgressBefore(c.node, c.i));
      out.push(this.send(run, w));
    }
    return out;
  }

  /** Collects pending branches without a run, depth first from the execution committed next. */
  private walk(found: { node: PNode | null; i: number }[], want: number): void {
    const f = this.forced!;
    const fr = this.runOf.get(f);
    if (!fr) found.push({ node: null, i: -1 });
    else if (fr.arrived && this.visitRun(fr, found, want)) return;
    if (found.length >= want) return;
    for (let p = this.next; p >= 0; p--) if (this.visitNode(this.path[p]!, found, want)) return;
  }

  private visitRun(r: Run, found: { node: PNode | null; i: number }[], want: number): boolean {
    for (let p = r.depth; p >= r.base; p--)
      if (this.visitNode(r.nodes[p - r.base]!, found, want)) return true;
    return false;
  }

  private visitNode(node: PNode, found: { node: PNode | null; i: number }[], want: number): boolean {
    const wut = node.wut;
    for (let i = node.wutHead + node.skip; i < wut.length; i++) {
      const y = wut[i]!;
      const r = this.runOf.get(y);
      if (!r) {
        found.push({ node, i });
        if (found.length >= want) return true;
      } else if (r.arrived && !r.dead && this.visitRun(r, found, want)) return true;
    }
    return false;
  }

  /** Sleep set entries a branch at wut[i] will meet besides the node's: the branches before it. */
  private inProgressBefore(node: PNode, i: number): WuNode[] {
    const extra: WuNode[] = [];
    if (node.curT >= 0)
      extra.push({
        thread: node.curT,
        obj: node.curO,
        kind: node.curK,
        lo: node.curL,
        hi: node.curH,
        children: [],
      });
    for (let j = node.wutHead + node.skip; j < i; j++) extra.push(node.wut[j]!);
    return extra;
  }

  private newRun(node: PNode | null, branch: WuNode | null, before: WuNode[]): Run {
    const chain: WuNode[] = [];
    for (let c = branch; c !== null; c = c.children.length > 0 ? c.children[0]! : null) chain.push(c);
    const x = node === null ? 0 : node.pos;
    const sleep: number[] = [];
    if (node !== null) {
      sleep.push(...node.sleepOps());
      for (const b of before) sleep.push(b.thread, b.obj, b.kind, b.lo, b.hi);
    }
    const ch = new Int32Array(chain.length * OPW);
    for (let i = 0; i < chain.length; i++) {
      const c = chain[i]!;
      ch.set([c.thread, c.obj, c.kind, c.lo, c.hi], i * OPW);
    }
    const run: Run = {
      id: this.nextId++,
      job: {
        id: 0,
        prefix: node === null ? new Int32Array(0) : node.run.threads!.slice(0, x),
        sleep: Int32Array.from(sleep),
        chain: ch,
        sync: EMPTY_SYNC,
      },
      branch,
      chain,
      x,
      arrived: false,
      committed: false,
      dead: false,
      len: 0,
      depth: 0,
      base: 0,
      nodes: [],
    };
    run.job.id = run.id;
    if (branch !== null) this.runOf.set(branch, run);
    this.runs.set(run.id, run);
    this.outstanding++;
    return run;
  }

  private send(run: Run, w: number): DporJob {
    return { ...run.job, sync: this.syncFor(w) };
  }

  private syncFor(w: number): SyncDelta {
    const s = this.syncs[w]!;
    const out: SyncDelta = {
      ids: this.idLog.slice(s.ids),
      visible: this.visLog.slice(s.visible),
      violations: this.violationLog.slice(s.violations),
      edges: this.edgeLog.slice(s.edges),
      cutKeys: this.cutLog.slice(s.cutKeys),
    };
    s.ids = this.idLog.length;
    s.visible = this.visLog.length;
    s.violations = this.violationLog.length;
    s.edges = this.edgeLog.length;
    s.cutKeys = this.cutLog.length;
    return out;
  }

  // ---- results ----

  /** A worker's result: builds what it opened, then commits every execution whose turn has come. */
  accept(res: DporJobResult): void {
    this.received++;
    if (this.done) return;
    let r: Run | undefined;
    const head = res.head ?? res.id;
    const step = res.step ?? 0;
    if (res.step !== undefined) {
      // A continuation: the run created when the result before it said the worker went on.
      const key = `${head}/${step}`;
      r = this.contRun.get(key);
      this.contRun.delete(key);
      if (!r || r.dead || r.arrived) return;
      this.translate(res);
      if (!sameInputs(r.job, res.job!)) {
        this.rerun++;
        this.drop(r);
        return;
      }
      res.id = r.id;
    } else {
      r = this.runs.get(res.id);
      // Gone or in already: the other copy of a hedged execution.
      if (!r || r.dead || r.arrived) return;
      this.translate(res);
    }
    this.build(r, res);
    if (res.cont) this.continued(r, `${head}/${step + 1}`);
    this.pump();
    if (!r.committed && !r.dead) this.speculated++;
  }

  /** The worker's own object ids (from res.idBase on) in the coordinator's numbering. */
  private translate(res: DporJobResult): void {
    const base = res.idBase;
    if (res.newIds.length === 0) return;
    const map = new Int32Array(
      res.newIds.length === 0 ? 0 : Math.max(...res.newIds.map((e) => e[0])) - base + 1,
    );
    for (const e of res.newIds) {
      let g: number | undefined;
      if (e.length === 3) {
        const key = e[1];
        g = this.byKey.get(key);
        if (g === undefined) {
          g = this.idCount++;
          this.byKey.set(key, g);
          this.idLog.push([g, key]);
          this.markVisible(g, e[2]);
        }
      } else {
        const [, c, i] = e;
        g = this.byCreator[c]![i];
        if (g === undefined) {
          g = this.idCount++;
          this.byCreator[c]![i] = g;
          this.idLog.push([g, c, i]);
          this.markVisible(g, e[3]);
        }
      }
      map[e[0] - base] = g;
    }
    const ev = res.events;
    for (let i = 1; i < ev.length; i += OPW) if (ev[i]! >= base) ev[i] = map[ev[i]! - base]!;
    const rc = res.races;
    for (let p = 0; p < rc.length; ) {
      const m = rc[p + 1]!;
      p += 2;
      for (let j = 0; j < m; j++, p += OPW) if (rc[p + 1]! >= base) rc[p + 1] = map[rc[p + 1]! - base]!;
    }
    if (res.job) {
      for (const a of [res.job.sleep, res.job.chain])
        for (let i = 1; i < a.length; i += OPW) if (a[i]! >= base) a[i] = map[a[i]! - base]!;
    }
  }

  /** Object g is visible in the named scope (null: not visible; every object when all are). */
  private markVisible(g: number, scope: string | null): void {
    if (this.allVisible) scope ??= '';
    if (scope === null) return;
    this.dep.setScope(g, this.dep.scopeId(scope));
    this.visLog.push([g, scope]);
  }

  /** The nodes the execution opened, with their sleep sets and the races local to them. */
  private build(r: Run, res: DporJobResult): void {
    const x = r.x;
    const evN = res.events.length / OPW;
    const len = x + evN;
    const threads = new Int32Array(len);
    threads.set(r.job.prefix);
    for (let i = 0; i < evN; i++) threads[x + i] = res.events[i * OPW]!;
    r.threads = threads;
    r.len = len;
    r.depth = x + res.nodes;
    r.base = r.branch === null ? 0 : x + 1;
    r.res = res;
    const ev = res.events;
    const chainLen = r.chain.length;
    let prev: Node;
    if (r.branch === null) prev = new Node();
    else {
      prev = new Node();
      prev.sleepAll(r.job.sleep);
    }
    for (let p = r.base; p <= r.depth; p++) {
      const node = new PNode(r, p);
      if (p > 0 && (r.branch !== null || p > r.base)) {
        const e = (p - 1 - x) * OPW;
        propagateSleep(prev, node, ev[e]!, ev[e + 1]!, ev[e + 2]!, ev[e + 3]!, ev[e + 4]!, this.dependent);
      }
      // Node x+j (j >= 1) follows chain step j-1: its pending branches are that step's children.
      const j = p - x;
      if (r.branch !== null && j >= 1 && j - 1 < chainLen && r.chain[j - 1]!.children.length > 0) {
        node.wut = r.chain[j - 1]!.children;
        if (j < res.taken) node.skip = 1;
      }
      if (p < len) {
        const e = (p - x) * OPW;
        node.curT = ev[e]!;
        node.curO = ev[e + 1]!;
        node.curK = ev[e + 2]!;
        node.curL = ev[e + 3]!;
        node.curH = ev[e + 4]!;
      }
      r.nodes.push(node);
      prev = node;
    }
    if (res.free >= 0) this.insertRaces(res, (b) => (b >= res.free ? r.nodes[b - r.base]! : null));
    r.arrived = true;
  }

  /** Inserts the result's races at the nodes `at` gives (null: not now). */
  private insertRaces(res: DporJobResult, at: (b: number) => Node | null): void {
    const rc = res.races;
    const v = this.v;
    for (let p = 0; p < rc.length; ) {
      const b = rc[p]!;
      const m = rc[p + 1]!;
      p += 2;
      const node = at(b);
      if (node === null) {
        p += m * OPW;
        continue;
      }
      v.reset();
      for (let j = 0; j < m; j++, p += OPW) v.push(rc[p]!, rc[p + 1]!, rc[p + 2]!, rc[p + 3]!, rc[p + 4]!);
      insertBranch(node, v);
    }
  }

  /** The worker went on with the next execution in r's own nodes: the same one, found here. */
  private continued(r: Run, key: string): void {
    const free = r.res!.free;
    for (let q = r.depth; free >= 0 && q >= free; q--) {
      const node = r.nodes[q - r.base]!;
      if (!node.pending) continue;
      const c = this.newRun(node, node.wut[node.wutHead]!, this.inProgressBefore(node, node.wutHead));
      this.contRun.set(key, c);
      return;
    }
  }

  /**
   * The executor that sent `res` with cont set will not go on after all: the continuation run is
   * dropped and its branch goes back to the pool.
   */
  withdraw(res: DporJobResult): void {
    const key = `${res.head ?? res.id}/${(res.step ?? 0) + 1}`;
    const c = this.contRun.get(key);
    if (!c) return;
    this.contRun.delete(key);
    this.drop(c);
  }

  /** Was the run with this id the last one committed? */
  lastCommitted = -1;

  private drop(r: Run): void {
    r.dead = true;
    if (r.branch !== null && this.runOf.get(r.branch) === r) this.runOf.delete(r.branch);
    this.runs.delete(r.id);
    this.outstanding--;
  }

  // ---- commit ----

  /** Commits executions for as long as the next one's result is in. */
  private pump(): void {
    while (!this.done) {
      const r = this.started ? this.runOf.get(this.forced!) : this.rootRun;
      if (!r?.arrived) return;
      if (this.started && !this.valid(r)) {
        // Its inputs changed (not expected): run it again with the current ones.
        this.rerun++;
        this.drop(r);
        return;
      }
      this.commit(r);
    }
  }

  private valid(r: Run): boolean {
    const node = this.path[this.next]!;
    if (r.x !== this.next || r.job.prefix.length !== node.pos) return false;
    // The sleep set now, as a multiset of operations, against the job's.
    if (!sameOps(node.sleepOps(), r.job.sleep)) return false;
    // The chain now.
    let c: WuNode | null = this.forced;
    for (let i = 0; i < r.chain.length; i++) {
      if (c !== r.chain[i]) return false;
      c = c!.children.length > 0 ? c!.children[0]! : null;
    }
    return c === null;
  }

  private commit(r: Run): void {
    const res = r.res!;
    const col = this.col;
    const x = r.x;
    const len = r.len;
    if (this.pathT.length < len) {
      const g = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(Math.max(len, a.length * 2));
        b.set(a);
        return b;
      };
      this.pathT = g(this.pathT);
      this.pathO = g(this.pathO);
      this.pathK = g(this.pathK);
      this.pathL = g(this.pathL);
      this.pathH = g(this.pathH);
    }
    for (let p = r.base; p <= r.depth; p++) this.path[p] = r.nodes[p - r.base]!;
    for (let i = x, e = 0; i < len; i++, e += OPW) {
      this.pathT[i] = res.events[e]!;
      this.pathO[i] = res.events[e + 1]!;
      this.pathK[i] = res.events[e + 2]!;
      this.pathL[i] = res.events[e + 3]!;
      this.pathH[i] = res.events[e + 4]!;
    }
    // The chain steps the execution took below its branch.
    for (let j = 1; j < res.taken; j++) {
      const node = this.path[x + j]!;
      const c = node.take();
      node.skip = 0;
      if (c !== r.chain[j]) throw new Error('parallel dpor: a chain step is not where its execution took it');
    }
    // Races at nodes older than the execution, in the order the sequential search inserts them.
    this.insertRaces(res, (b) => (res.free < 0 || b < res.free ? this.path[b]! : null));
    // Collector and lockdep, as the sequential search records them.
    col.blocked += res.blocked;
    if (res.incomplete || res.cut) col.cutAll(res.reasons);
    if (res.incomplete && col.complete) col.cut('preemptionBound', 'a bound cut a branch');
    col.events += len;
    if (this.cuts) col.cutStates += res.cutStates;
    const cutNow = new Set<string>();
    for (const o of res.offers) {
      if (o.cut !== undefined) {
        if (this.cutReported.has(o.cut) && !cutNow.has(o.cut)) continue;
        if (!this.cutReported.has(o.cut)) {
          this.cutReported.add(o.cut);
          cutNow.add(o.cut);
          this.cutLog.push(o.cut);
        }
      }
      col.offer(o.key, o.pre, () => {
        if (!o.report)
          throw new Error(`parallel dpor: violation ${o.key} needs a report its worker did not send`);
        return { ...o.report };
      });
      const pre = col.recorded(o.key)?.preemptions ?? 0;
      if (this.logged.get(o.key) !== pre) {
        this.logged.set(o.key, pre);
        this.violationLog.push([o.key, pre]);
      }
    }
    for (const e of res.edges) {
      if (this.lockdep.has(e.from, e.to)) continue;
      this.lockdep.restore([e]);
      this.edgeLog.push(`${e.from}\0${e.to}`);
    }
    if (res.outcome === 0) {
      col.counted(len, res.deadlocked, res.cut, res.fingerprint, res.cycle === true);
      this.observe?.(r.threads!);
      col.tick(len);
    }
    r.committed = true;
    this.committed++;
    this.lastCommitted = r.id;
    if (r.branch !== null) this.runOf.delete(r.branch);
    this.runs.delete(r.id);
    this.outstanding--;
    this.started = true;
    if (col.stopped) {
      col.cutStopped();
      this.finish();
      return;
    }
    // Backtrack to the deepest node with a pending branch, as dpor.ts does.
    let next = -1;
    for (let i = r.depth; i >= 0; i--) {
      const node = this.path[i]!;
      if (i < len) {
        node.sleep(this.pathT[i]!, this.pathO[i]!, this.pathK[i]!, this.pathL[i]!, this.pathH[i]!);
        node.done++;
        node.curT = -1;
      }
      if (node.pending) {
        next = i;
        break;
      }
    }
    if (next < 0 || col.exhausted) {
      if (next >= 0) col.cutExhausted();
      this.finish();
      return;
    }
    const node = this.path[next]!;
    const f = node.take();
    node.curT = f.thread;
    node.curO = f.obj;
    node.curK = f.kind;
    node.curL = f.lo;
    node.curH = f.hi;
    this.forced = f;
    this.next = next;
    this.path.length = next + 1;
    const ck = this.options.checkpoint;
    if (
      ck &&
      ((ck.everyExecutions !== undefined && col.executions - this.savedAt >= ck.everyExecutions) ||
        (ck.everyMs !== undefined && Date.now() - this.lastSaved >= ck.everyMs))
    )
      this.save(ck);
  }

  /**
   * The frontier, as dpor.ts saves it: between two commits the search's state is the sequential
   * search's, so either search resumes from it (this one needs prefixEvents).
   */
  private save(ck: NonNullable<ExploreOptions['checkpoint']>): void {
    const nodes: DporCheckpoint['nodes'] = [];
    for (let i = 0; i <= this.next; i++) {
      const node = this.path[i]!;
      nodes.push({ sleep: node.sleepOps(), wut: node.wut.slice(node.wutHead).map(saveBranch) });
    }
    const prefixEvents: number[] = [];
    for (let i = 0; i < this.next; i++)
      prefixEvents.push(this.pathT[i]!, this.pathO[i]!, this.pathK[i]!, this.pathL[i]!, this.pathH[i]!);
    const visible: number[] = [];
    const scopes: string[] = [];
    for (let id = 0; id < this.idCount; id++) {
      const sc = this.dep.scopeOf(id);
      if (sc < 0) continue;
      visible.push(id);
      scopes.push(this.dep.scopeNames[sc]!);
    }
    ck.save({
      version: 1,
      strategy: 'dpor',
      program: this.programName,
      prefix: Array.from(this.pathT.subarray(0, this.next)),
      prefixEvents,
      nodes,
      opWidth: 5,
      next: saveBranch(this.forced!),
      ids: {
        count: this.idCount,
        byCreator: this.byCreator.map((a) => [...a]),
        byKey: [...this.byKey.entries()],
        visible,
        scopes,
      },
      ...this.col.snapshot(),
      lockdep: this.lockdep.save(),
      ...(this.cuts ? { cutReported: [...this.cutReported] } : {}),
    });
    this.lastSaved = Date.now();
    this.savedAt = this.col.executions;
  }

  /** Takes up a search from a checkpoint (of either dpor search): its frontier becomes the tree. */
  private resumeFrom(c: ExplorationCheckpoint): void {
    if (c.strategy !== 'dpor') throw new TypeError(`cannot resume a ${c.strategy} checkpoint with dpor`);
    if (!c.prefixEvents)
      throw new TypeError(
        'this checkpoint does not list its prefix events (an older one): resume it on one worker',
      );
    if (c.ids.byCreator.length !== this.byCreator.length)
      throw new Error(
        `checkpoint: object numbering for ${c.ids.byCreator.length - 1} threads, the program has ${this.n}`,
      );
    const x = c.prefix.length;
    const ev = savedOps(c.prefixEvents, c.opWidth);
    if (c.nodes.length !== x + 1 || ev.length !== x * OPW)
      throw new Error('checkpoint: its nodes or prefix events do not match its prefix');
    // The numbering, and the logs that teach it to the workers.
    this.idCount = c.ids.count;
    for (let cr = 0; cr < c.ids.byCreator.length; cr++) {
      const ids = c.ids.byCreator[cr]!;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        if (id === undefined || id === null) continue;
        this.byCreator[cr]![i] = id;
        this.idLog.push([id, cr, i]);
      }
    }
    for (const [k, id] of c.ids.byKey) {
      this.byKey.set(k, id);
      this.idLog.push([id, k]);
    }
    const vis = c.ids.visible ?? [];
    for (let j = 0; j < vis.length; j++) this.markVisible(vis[j]!, c.ids.scopes?.[j] ?? '');
    // The path: a node per point of the prefix, and the branch point.
    const threads = Int32Array.from(c.prefix);
    const run: Run = {
      id: this.nextId++,
      job: { id: -1, prefix: threads, sleep: new Int32Array(0), chain: new Int32Array(0), sync: EMPTY_SYNC },
      branch: null,
      chain: [],
      x,
      arrived: true,
      committed: true,
      dead: false,
      threads,
      len: x,
      depth: x,
      base: 0,
      nodes: [],
    };
    if (this.pathT.length < x + 1) {
      this.pathT = new Int32Array(x * 2 + 2);
      this.pathO = new Int32Array(x * 2 + 2);
      this.pathK = new Int32Array(x * 2 + 2);
      this.pathL = new Int32Array(x * 2 + 2);
      this.pathH = new Int32Array(x * 2 + 2);
    }
    for (let i = 0; i <= x; i++) {
      const node = new PNode(run, i);
      const saved = c.nodes[i]!;
      node.sleepAll(savedOps(saved.sleep, c.opWidth));
      node.wut = saved.wut.map(loadBranch);
      if (i < x) {
        const e = i * OPW;
        node.curT = this.pathT[i] = ev[e]!;
        node.curO = this.pathO[i] = ev[e + 1]!;
        node.curK = this.pathK[i] = ev[e + 2]!;
        node.curL = this.pathL[i] = ev[e + 3]!;
        node.curH = this.pathH[i] = ev[e + 4]!;
      }
      run.nodes.push(node);
      this.path[i] = node;
    }
    const f = loadBranch(c.next);
    const last = this.path[x]!;
    last.curT = f.thread;
    last.curO = f.obj;
    last.curK = f.kind;
    last.curL = f.lo;
    last.curH = f.hi;
    this.forced = f;
    this.next = x;
    // What the collector, lockdep and the cut check had recorded.
    this.col.restore(c);
    if (c.counts.cutStates !== undefined && this.cuts) this.col.cutStates = c.counts.cutStates;
    for (const [key, v] of c.found) {
      this.logged.set(key, v.preemptions ?? 0);
      this.violationLog.push([key, v.preemptions ?? 0]);
    }
    this.lockdep.restore(c.lockdep);
    for (const e of c.lockdep) this.edgeLog.push(`${e.from}\0${e.to}`);
    for (const k of c.cutReported ?? []) {
      this.cutReported.add(k);
      this.cutLog.push(k);
    }
    this.savedAt = this.col.executions;
    this.started = true;
  }

  private finish(): void {
    this.done = true;
    for (const r of this.runs.values()) r.dead = true;
    this.runs.clear();
    this.runOf.clear();
    this.contRun.clear();
  }
}

/** The same multiset of operations (OPW numbers each)? */
function sameOps(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  const key = (x: ArrayLike<number>): string[] => {
    const out: string[] = [];
    for (let i = 0; i + OPW - 1 < x.length; i += OPW)
      out.push(`${x[i]},${x[i + 1]},${x[i + 2]},${x[i + 3]},${x[i + 4]}`);
    return out.sort();
  };
  const ka = key(a);
  const kb = key(b);
  return ka.every((k, i) => k === kb[i]);
}

function sameInputs(
  a: Pick<DporJob, 'prefix' | 'sleep' | 'chain'>,
  b: Pick<DporJob, 'prefix' | 'sleep' | 'chain'>,
): boolean {
  if (a.prefix.length !== b.prefix.length || a.chain.length !== b.chain.length) return false;
  for (let i = 0; i < a.prefix.length; i++) if (a.prefix[i] !== b.prefix[i]) return false;
  for (let i = 0; i < a.chain.length; i++) if (a.chain[i] !== b.chain[i]) return false;
  return sameOps(a.sleep, b.sleep);
}

const EMPTY_SYNC: SyncDelta = { ids: [], visible: [], violations: [], edges: [], cutKeys: [] };

/**
 * The parallel search with its workers in this process: `workers` job runners, each with its own
 * queue of jobs, run in an order drawn from `seed` (so the coordinator meets results out of order,
 * as it does with worker threads), executor 0 behaving as dporOnWorkers' coordinating thread does.
 * The result equals dpor()'s; tests compare the two.
 */
export function dporInProcess<S>(
  program: Program<S>,
  options: ExploreOptions,
  lockdep: Lockdep,
  workers: number,
  seed = 1,
  observe?: (threads: Int32Array) => void,
  continueUpTo = CONTINUE_UP_TO,
): ParallelDpor<S> {
  const coord = new ParallelDpor(program, options, lockdep, workers, observe);
  const runners = Array.from({ length: workers }, () => new DporJobRunner(program, options, coord.cuts));
  const queues: DporJob[][] = runners.map(() => []);
  const rng = xoroshiro128plus(seed);
  const busy: number[] = [];
  while (!coord.done) {
    for (let w = 0; w < workers; w++) {
      const q = queues[w]!;
      if (q.length < IN_PROCESS_QUEUE) q.push(...coord.jobsFor(w, IN_PROCESS_QUEUE - q.length));
    }
    busy.length = 0;
    for (let w = 0; w < workers; w++) if (queues[w]!.length > 0) busy.push(w);
    if (busy.length === 0) throw new Error('parallel dpor: nothing to run and the search is not done');
    const w = busy[uniformInt(rng, 0, busy.length - 1)]!;
    let sent: DporJobResult | undefined;
    const accept = (r: DporJobResult): void => {
      sent = r;
      coord.accept(r);
    };
    // Executor 0 plays the coordinating thread of dporOnWorkers: it goes on by itself only while
    // its execution was the one the commit waited for, and now and then it runs the execution the
    // commit waits for although another executor has it (the first result is used).
    const keepGoing =
      w === 0
        ? (): boolean => {
            if (coord.lastCommitted === sent!.id && !coord.done) return true;
            coord.withdraw(sent!);
            return false;
          }
        : undefined;
    const hedged = w === 0 && uniformInt(rng, 0, 3) === 0 ? coord.hedge(0) : null;
    runners[w]!.runAll(hedged ?? queues[w]!.shift()!, continueUpTo, accept, keepGoing);
  }
  return coord;
}

/** Executions a worker runs on by itself after a job (DporJobRunner.runAll). */
export const CONTINUE_UP_TO = 64;

/** Jobs queued per in-process worker. */
const IN_PROCESS_QUEUE = 3;
