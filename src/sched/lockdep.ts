// The lock-order checker, after kernel/locking/lockdep.c: every acquisition of a lock class while a
// thread holds another adds an edge held -> acquired to one graph shared by all explored
// executions. A cycle in that graph is a possible deadlock, reported even when no execution
// deadlocked (a third lock may have kept the explored ones apart, which lockdep does not trust).
// As in lockdep, a trylock adds no edge (it cannot wait), and acquiring a class already held is
// reported as recursive locking: a rw_semaphore reader is not recursive in the kernel either, since
// a writer queued in between blocks the second down_read.

export type LockMode = 'lock' | 'read' | 'write';

export interface Edge {
  from: string;
  to: string;
  fromMode: LockMode;
  toMode: LockMode;
  thread: string;
  /** Event index (in its execution) of the acquisition that made the edge. */
  event: number;
  /** Threads of the execution up to that acquisition: replays it. */
  schedule: Int32Array;
  holdSite?: string;
  acquireSite?: string;
  /** Kernel functions active where each lock was taken (outermost first), when sites are captured. */
  holdStack?: string[];
  acquireStack?: string[];
}

/** An edge as plain data. */
export type SavedEdge = Omit<Edge, 'schedule' | 'fromMode' | 'toMode'> & {
  schedule: number[];
  fromMode: string;
  toMode: string;
};

export interface LockCycle {
  /** The edges of the cycle, in order: edges[i].to === edges[i+1].from. */
  edges: Edge[];
}

export class Lockdep {
  private readonly out = new Map<string, Map<string, Edge>>();
  edgeCount = 0;

  clear(): void {
    this.out.clear();
    this.edgeCount = 0;
  }

  has(from: string, to: string): boolean {
    return this.out.get(from)?.has(to) ?? false;
  }

  add(edge: Edge): void {
    let m = this.out.get(edge.from);
    if (!m) {
      m = new Map();
      this.out.set(edge.from, m);
    }
    if (m.has(edge.to)) return;
    m.set(edge.to, edge);
    this.edgeCount++;
  }

  /** Every edge, for a checkpoint. */
  edges(): Edge[] {
    const out: Edge[] = [];
    for (const m of this.out.values()) for (const e of m.values()) out.push(e);
    return out;
  }

  /** The edges as plain data (schedules as arrays), for checkpoints and worker results. */
  save(): SavedEdge[] {
    return this.edges().map((e) => ({ ...e, schedule: [...e.schedule] }));
  }

  /** Adds edges saved by save(). */
  restore(edges: readonly SavedEdge[]): void {
    for (const e of edges) {
      this.add({
        ...e,
        fromMode: e.fromMode as LockMode,
        toMode: e.toMode as LockMode,
        schedule: Int32Array.from(e.schedule),
      });
    }
  }

  get(from: string, to: string): Edge | undefined {
    return this.out.get(from)?.get(to);
  }

  /** One shortest cycle per strongly connected component that has one (self-loops included). */
  cycles(): LockCycle[] {
    const nodes = new Set<string>();
    for (const [a, m] of this.out) {
      nodes.add(a);
      for (const b of m.keys()) nodes.add(b);
    }
    const sccs = this.sccs([...nodes].sort());
    const found: LockCycle[] = [];
    for (const comp of sccs) {
      const inComp = new Set(comp);
      const first = comp[0]!;
      if (comp.length === 1 && !this.has(first, first)) continue;
      // Shortest cycle through the component: BFS from each member back to itself; keep the best.
      let best: Edge[] | null = null;
      for (const start of comp) {
        const path = this.shortestBack(start, inComp);
        if (path && (!best || path.length < best.length)) best = path;
      }
      if (best) found.push({ edges: best });
    }
    return found;
  }

  private shortestBack(start: string, inComp: Set<string>): Edge[] | null {
    const prev = new Map<string, Edge>();
    const queue: string[] = [start];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const a = queue.shift()!;
      const m = this.out.get(a);
      if (!m) continue;
      for (const [b, e] of [...m].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
        if (!inComp.has(b)) continue;
        if (b === start) {
          const path: Edge[] = [e];
          let cur = a;
          while (cur !== start) {
            const pe = prev.get(cur)!;
            path.unshift(pe);
            cur = pe.from;
          }
          return path;
        }
        if (seen.has(b)) continue;
        seen.add(b);
        prev.set(b, e);
        queue.push(b);
      }
    }
    return null;
  }

  /** Tarjan's strongly connected components. */
  private sccs(nodes: string[]): string[][] {
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const onStack = new Set<string>();
    const stack: string[] = [];
    const out: string[][] = [];
    let next = 0;
    const visit = (v: string): void => {
      index.set(v, next);
      low.set(v, next);
      next++;
      stack.push(v);
      onStack.add(v);
      for (const w of [...(this.out.get(v)?.keys() ?? [])].sort()) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v)!, index.get(w)!));
        }
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        out.push(comp.sort());
      }
    };
    for (const v of nodes) if (!index.has(v)) visit(v);
    return out;
  }
}

/** One line per edge, as lockdep prints a dependency chain. */
export function describeCycle(c: LockCycle): string {
  if (c.edges.length === 1) {
    const e = c.edges[0]!;
    return (
      `recursive locking: ${e.thread} acquires ${e.to} (${e.toMode}) while already holding it (${e.fromMode})` +
      at(e)
    );
  }
  const chain = [...c.edges.map((e) => e.from), c.edges[0]!.from].join(' -> ');
  const lines = c.edges.map((e) =>
    e.event < 0
      ? `  ${e.from} -> ${e.to}: a dependency declared as made elsewhere in the kernel (the design's lock order, lockChains)`
      : `  ${e.thread} acquires ${e.to} (${e.toMode}) while holding ${e.from} (${e.fromMode})${at(e)}`,
  );
  return `lock order inversion: ${chain}\n${lines.join('\n')}`;
}

function at(e: Edge): string {
  if (!e.holdSite && !e.acquireSite) return '';
  return `\n      held at ${e.holdSite ?? '?'}\n      acquired at ${e.acquireSite ?? '?'}`;
}
