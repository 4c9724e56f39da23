// Checking a state invariant over every state of a trace, not just the states of the one
// interleaving that ran it (Program.observedOnly).
//
// dpor runs one interleaving per Mazurkiewicz trace. Every other interleaving of the same trace
// passes through other intermediate states: exactly the consistent cuts of the trace's
// happens-before order. When the invariant is a function of some Cells' values only, the state it
// sees at a cut is fixed by which writes to those Cells the cut contains, and those sets are the
// down-closed sets of the observed writes (a set of them closed under happens-before extends to a
// consistent cut, by adding what happens before them). So instead of ordering all observed writes
// against each other — which makes every order of independent writes a separate trace, n! of them
// for n threads that set n flags — dpor leaves them unordered and this checker walks the
// down-closed sets of each execution's observed writes, sets the Cells to each set's values and
// calls the invariant. It is Spin's "check every reachable state" for a stateless search.
//
// Each set is checked once over the whole search: a set inside the prefix an execution shares
// with the previous one was checked then (the prefix's events and clocks are the same), so only
// sets that contain at least one new write are walked. The walk decides the writes from the last
// to the first: a write must be in the set when a write already in it happens after it (the
// running join of the chosen writes' vector clocks answers that in O(1)); otherwise both choices
// lead to sets, so the walk never dead-ends.
//
// A cut that breaks the invariant becomes an ordinary counterexample: the events that happen
// before the cut, in log order, then the others, replayed with the invariant checked after every
// event; the replay finds the violation at (or before) the cut.

import type { Collector } from './collector.js';
import { Execution } from './execution.js';
import type { Lockdep } from './lockdep.js';
import type { Prim } from './prim.js';
import type { Program } from './program.js';
import { Violation } from './violation.js';

interface CutCell extends Prim {
  cutValue(): unknown;
  setCutValue(v: unknown): void;
}

export class CutChecker<S> {
  private writes = new Int32Array(64);
  private frontier = new Int32Array(0);
  /** Per observed object (index into ex.cutIds): chosen writes on it in the current set. */
  private chosen = new Int32Array(0);
  private slotOf = new Int32Array(0);
  private cells: CutCell[] = [];
  /** Violation keys already turned into counterexamples (one replay each). */
  private readonly reported = new Set<string>();
  private readonly replayer: Execution<S>;

  constructor(
    private readonly ex: Execution<S>,
    private readonly program: Program<S>,
    private readonly col: Collector,
    maxSteps: number,
    lockdep: Lockdep | null = null,
  ) {
    this.replayer = new Execution(program, { clocks: false, lockdep, maxSteps });
  }

  /** The violations already turned into counterexamples (a checkpoint keeps them). */
  get reportedKeys(): string[] {
    return [...this.reported];
  }

  restoreReported(keys: readonly string[]): void {
    for (const k of keys) this.reported.add(k);
  }

  /** Replaces the reported set (a parallel search's worker: what the coordinator has reported). */
  setReported(keys: Iterable<string>): void {
    this.reported.clear();
    for (const k of keys) this.reported.add(k);
  }

  /**
   * Checks the invariant at every down-closed set of the execution's observed writes that holds a
   * write at or after event `fresh` (the first event not replayed from the previous execution).
   */
  check(fresh: number): void {
    const ex = this.ex;
    const len = ex.len;
    let m = 0;
    let firstNew = -1;
    for (let i = 0; i < len; i++) {
      if (ex.evCutW[i] !== 1) continue;
      if (m === this.writes.length) {
        const b = new Int32Array(m * 2);
        b.set(this.writes);
        this.writes = b;
      }
      if (firstNew < 0 && i >= fresh) firstNew = m;
      this.writes[m++] = i;
    }
    if (firstNew < 0) return;
    const n = ex.n;
    if (this.frontier.length < (m + 1) * n) this.frontier = new Int32Array((m + 1) * n * 2);
    this.frontier.fill(0, m * n, m * n + n);
    this.bindCells();
    const finals = this.cells.map((c) => c.cutValue());
    for (let j = 0; j < this.cells.length; j++) this.cells[j]!.setCutValue(ex.cutInit[j]);
    this.chosen.fill(0);
    try {
      this.walk(m - 1, firstNew, false);
    } finally {
      for (let j = 0; j < this.cells.length; j++) this.cells[j]!.setCutValue(finals[j]);
    }
  }

  private bindCells(): void {
    const ex = this.ex;
    const k = ex.cutIds.length;
    this.cells.length = k;
    if (this.chosen.length < k) this.chosen = new Int32Array(k);
    let maxId = 0;
    for (const id of ex.cutIds) if (id > maxId) maxId = id;
    if (this.slotOf.length <= maxId) this.slotOf = new Int32Array(maxId + 1);
    for (let j = 0; j < k; j++) {
      const id = ex.cutIds[j]!;
      this.cells[j] = ex.objectOf(id) as CutCell;
      this.slotOf[id] = j;
    }
  }

  /**
   * Decides writes k, k-1, ..., 0 (indices into `writes`). The join of the chosen writes' clocks is
   * at level k + 1 of `frontier`; `anyNew` says whether a write at or after `firstNew` was chosen.
   */
  private walk(k: number, firstNew: number, anyNew: boolean): void {
    if (k < firstNew && !anyNew) return;
    const ex = this.ex;
    const n = ex.n;
    const f = this.frontier;
    const above = (k + 1) * n;
    if (k < 0) {
      this.evaluate(above);
      return;
    }
    const e = this.writes[k]!;
    const t = ex.evThread[e]!;
    const forced = f[above + t]! >= ex.evSeq[e]!;
    const here = k * n;
    if (!forced) {
      f.copyWithin(here, above, above + n);
      this.walk(k - 1, firstNew, anyNew);
    }
    // Choose e: the join of its clock with those already chosen.
    const c = ex.clocks;
    const ce = e * n;
    for (let u = 0; u < n; u++) {
      const a = f[above + u]!;
      const b = c[ce + u]!;
      f[here + u] = a > b ? a : b;
    }
    const slot = this.slotOf[ex.evObj[e]!]!;
    const cell = this.cells[slot]!;
    // Writes to one Cell are ordered, so the latest chosen one (decided first) sets its value.
    if (this.chosen[slot]++ === 0) cell.setCutValue(ex.evValue[e]);
    this.walk(k - 1, firstNew, anyNew || k >= firstNew);
    if (--this.chosen[slot]! === 0) cell.setCutValue(this.ex.cutInit[slot]);
  }

  private evaluate(at: number): void {
    this.col.cutStates++;
    let message: string | undefined;
    let id = 'INVARIANT';
    try {
      const r = this.program.invariant!(this.ex.state);
      if (typeof r === 'string') message = r;
    } catch (e) {
      if (e instanceof Violation) {
        message = e.message;
        id = e.id;
      } else message = `invariant threw: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (message === undefined) return;
    const key = `${id}\0${id === 'INVARIANT' ? message : ''}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.col.underCut(key, () => this.counterexample(at));
  }

  /** Replays the cut's events first, then the rest, with the invariant checked at every step. */
  private counterexample(at: number): void {
    const ex = this.ex;
    const f = this.frontier;
    const r = this.replayer;
    // A fresh run (setup() builds a new world): the search's world, set to the cut, is left alone.
    r.begin();
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < ex.len; i++) {
        const t = ex.evThread[i]!;
        if (ex.evSeq[i]! <= f[at + t]! !== (pass === 0)) continue;
        if (!r.enabled(t)) throw new Error(`cut replay: thread ${ex.names[t]} cannot run at event ${i}`);
        r.step(t);
      }
    }
    if (r.violations.length === 0)
      throw new Error('cut replay: the violation found at a cut did not show in its linearization');
    this.col.take(r);
  }
}
