// Which events of a search depend on each other: the conflict relation of partial-order reduction,
// shared by the executor (vector clocks), race detection, sleep sets and wakeup trees, and the
// coordinator of the parallel search (which knows objects only by id).
//
// Two events are dependent when they touch the same object in overlapping slots and one of them
// writes (op.ts: conflicts), or when both write objects the invariant looks at, in related
// visibility scopes. Visibility is what checking a property of every intermediate state needs:
// writes the invariant reads together must be explored in every order. Scopes make it finer: an
// invariant that is a conjunction of parts, each reading the objects of some scopes, only needs
// writes ordered within the scopes one part reads together (Program.scopeOf/scopesRelated).

import { isReadLike, isSeenWrite } from './op.js';

/** Are two operations, each (object, kind, slots [lo, hi)), dependent? */
export type Dependent = (
  oa: number,
  ka: number,
  la: number,
  ha: number,
  ob: number,
  kb: number,
  lb: number,
  hb: number,
) => boolean;

export class Dependence {
  /** Per object id: its visibility scope, -1 when the invariant does not look at it. */
  scope = new Int32Array(16).fill(-1);
  /** Per object id: 1 for a lazily handled lock (ExploreOptions.lazyLocks). */
  lazy = new Uint8Array(16);
  readonly scopeNames: string[] = [];
  private readonly scopeIndex = new Map<string, number>();
  /** related[a * cap + b]: 1 when writes in scopes a and b are ordered. */
  private rel = new Uint8Array(0);
  private cap = 0;
  /** Per scope, the scopes related to it (itself included when it is self-related). */
  relatedTo: Int32Array[] = [];

  constructor(private readonly relation: (a: string, b: string) => boolean = (a, b) => a === b) {}

  /** The number of a scope (interned on first use). */
  scopeId(name: string): number {
    let s = this.scopeIndex.get(name);
    if (s !== undefined) return s;
    s = this.scopeNames.length;
    this.scopeNames.push(name);
    this.scopeIndex.set(name, s);
    if (s >= this.cap) {
      const cap = Math.max(8, this.cap * 2);
      const rel = new Uint8Array(cap * cap);
      for (let a = 0; a < this.cap; a++)
        rel.set(this.rel.subarray(a * this.cap, a * this.cap + this.cap), a * cap);
      this.rel = rel;
      this.cap = cap;
    }
    const lists: number[][] = this.relatedTo.map((l) => Array.from(l));
    lists.push([]);
    for (let b = 0; b <= s; b++) {
      const r = this.relation(name, this.scopeNames[b]!) || this.relation(this.scopeNames[b]!, name);
      if (!r) continue;
      this.rel[s * this.cap + b] = 1;
      this.rel[b * this.cap + s] = 1;
      lists[s]!.push(b);
      if (b !== s) lists[b]!.push(s);
    }
    this.relatedTo = lists.map((l) => Int32Array.from(l));
    return s;
  }

  get scopeCount(): number {
    return this.scopeNames.length;
  }

  /** Makes object `id` visible in scope `s` (-1: not visible). */
  setScope(id: number, s: number): void {
    if (id >= this.scope.length) {
      const b = new Int32Array(Math.max(id + 1, this.scope.length * 2)).fill(-1);
      b.set(this.scope);
      this.scope = b;
    }
    this.scope[id] = s;
  }

  setLazy(id: number, on: boolean): void {
    if (id >= this.lazy.length) {
      const b = new Uint8Array(Math.max(id + 1, this.lazy.length * 2));
      b.set(this.lazy);
      this.lazy = b;
    }
    this.lazy[id] = on ? 1 : 0;
  }

  isVisible(id: number): boolean {
    return id < this.scope.length && this.scope[id]! >= 0;
  }

  scopeOf(id: number): number {
    return id < this.scope.length ? this.scope[id]! : -1;
  }

  isLazy(id: number): boolean {
    return id < this.lazy.length && this.lazy[id] === 1;
  }

  related(a: number, b: number): boolean {
    return this.rel[a * this.cap + b] === 1;
  }

  /** Forgets every object's scope and laziness (a worker adopting the coordinator's numbering). */
  clearObjects(): void {
    this.scope.fill(-1);
    this.lazy.fill(0);
  }

  /** Are two operations (object, kind, slots) dependent? */
  readonly dependent: Dependent = (oa, ka, la, ha, ob, kb, lb, hb) => {
    if (oa === ob && la < hb && lb < ha && !(isReadLike(ka) && isReadLike(kb))) return true;
    if (!isSeenWrite(ka) || !isSeenWrite(kb)) return false;
    const sa = oa < this.scope.length ? this.scope[oa]! : -1;
    if (sa < 0) return false;
    const sb = ob < this.scope.length ? this.scope[ob]! : -1;
    return sb >= 0 && this.rel[sa * this.cap + sb] === 1;
  };
}
