// Litmus programs from the DPOR literature, with their known numbers of Mazurkiewicz traces.

import { Cell, Completion, Mutex, type Program, RwSem, type Thread } from '../sched/index.js';

/** One writer and n readers of x: each reader reads before or after the write, 2^n traces. */
export function readers(n: number): Program<{ x: Cell<number> }> {
  const threads: Record<string, (s: { x: Cell<number> }) => Thread> = {
    w: function* (s) {
      yield* s.x.write(1);
    },
  };
  for (let i = 0; i < n; i++) {
    threads[`r${i}`] = function* (s) {
      yield* s.x.read();
    };
  }
  return { name: `readers(${n})`, setup: () => ({ x: new Cell('x', 0) }), threads };
}

/** lastzero(n) (Abdulla et al.): thread 0 scans a[n..0] for the last zero, thread j sets a[j] = a[j-1] + 1. */
export function lastzero(n: number): Program<{ a: Cell<number>[] }> {
  const threads: Record<string, (s: { a: Cell<number>[] }) => Thread> = {
    scan: function* (s) {
      for (let i = n; i >= 0; i--) {
        if ((yield* s.a[i]!.read()) === 0) break;
      }
    },
  };
  for (let j = 1; j <= n; j++) {
    threads[`t${j}`] = function* (s) {
      const v = yield* s.a[j - 1]!.read();
      yield* s.a[j]!.write(v + 1);
    };
  }
  return {
    name: `lastzero(${n})`,
    setup: () => ({ a: Array.from({ length: n + 1 }, (_, i) => new Cell(`a${i}`, 0)) }),
    threads,
  };
}

/** Store buffering: 3 traces under sequential consistency (both reads 0 is impossible). */
export function storeBuffering(): Program<{ x: Cell<number>; y: Cell<number>; r: number[] }> {
  return {
    name: 'sb',
    setup: () => ({ x: new Cell('x', 0), y: new Cell('y', 0), r: [-1, -1] }),
    threads: {
      p: function* (s) {
        yield* s.x.write(1);
        s.r[0] = yield* s.y.read();
      },
      q: function* (s) {
        yield* s.y.write(1);
        s.r[1] = yield* s.x.read();
      },
    },
    final: (s) => (s.r[0] === 0 && s.r[1] === 0 ? 'both reads saw 0' : undefined),
  };
}

/** n threads increment a counter under a mutex: n! traces, and the counter always ends at n. */
export function lockedIncrements(n: number): Program<{ m: Mutex; c: Cell<number> }> {
  const threads: Record<string, (s: { m: Mutex; c: Cell<number> }) => Thread> = {};
  for (let i = 0; i < n; i++) {
    threads[`t${i}`] = function* (s) {
      yield* s.m.lock();
      const v = yield* s.c.read();
      yield* s.c.write(v + 1);
      yield* s.m.unlock();
    };
  }
  return {
    name: `locked-increments(${n})`,
    setup: () => ({ m: new Mutex('m'), c: new Cell('c', 0) }),
    threads,
    final: (s) => (s.c.value === n ? undefined : `counter is ${s.c.value}, expected ${n}`),
  };
}

/** The same without the lock: a lost update is possible. */
export function racyIncrements(n: number): Program<{ c: Cell<number> }> {
  const threads: Record<string, (s: { c: Cell<number> }) => Thread> = {};
  for (let i = 0; i < n; i++) {
    threads[`t${i}`] = function* (s) {
      const v = yield* s.c.read();
      yield* s.c.write(v + 1);
    };
  }
  return {
    name: `racy-increments(${n})`,
    setup: () => ({ c: new Cell('c', 0) }),
    threads,
    final: (s) => (s.c.value === n ? undefined : `lost update: counter is ${s.c.value}, expected ${n}`),
  };
}

/** k threads each write one shared cell m times: (km)!/(m!)^k traces, all of them interleavings. */
export function writers(k: number, m: number): Program<{ x: Cell<number> }> {
  const threads: Record<string, (s: { x: Cell<number> }) => Thread> = {};
  for (let i = 0; i < k; i++) {
    threads[`w${i}`] = function* (s) {
      for (let j = 0; j < m; j++) yield* s.x.write(i);
    };
  }
  return { name: `writers(${k},${m})`, setup: () => ({ x: new Cell('x', -1) }), threads };
}

/** k threads each write their own cell m times: 1 trace, (km)!/(m!)^k interleavings. */
export function independent(k: number, m: number): Program<{ xs: Cell<number>[] }> {
  const threads: Record<string, (s: { xs: Cell<number>[] }) => Thread> = {};
  for (let i = 0; i < k; i++) {
    threads[`w${i}`] = function* (s) {
      for (let j = 0; j < m; j++) yield* s.xs[i]!.write(j);
    };
  }
  return {
    name: `independent(${k},${m})`,
    setup: () => ({ xs: Array.from({ length: k }, (_, i) => new Cell(`x${i}`, 0)) }),
    threads,
  };
}

/** Dining philosophers: each takes its left fork, then its right one. Deadlocks. */
export function philosophers(n: number): Program<{ forks: Mutex[] }> {
  const threads: Record<string, (s: { forks: Mutex[] }) => Thread> = {};
  for (let i = 0; i < n; i++) {
    threads[`p${i}`] = function* (s) {
      const left = s.forks[i]!;
      const right = s.forks[(i + 1) % n]!;
      yield* left.lock();
      yield* right.lock();
      yield* right.unlock();
      yield* left.unlock();
    };
  }
  return {
    name: `philosophers(${n})`,
    setup: () => ({ forks: Array.from({ length: n }, (_, i) => new Mutex(`fork${i}`)) }),
    threads,
  };
}

/** Philosophers where the last one takes the forks in the other order: no deadlock, no lock-order cycle. */
export function orderedPhilosophers(n: number): Program<{ forks: Mutex[] }> {
  const threads: Record<string, (s: { forks: Mutex[] }) => Thread> = {};
  for (let i = 0; i < n; i++) {
    threads[`p${i}`] = function* (s) {
      const a = Math.min(i, (i + 1) % n);
      const b = Math.max(i, (i + 1) % n);
      yield* s.forks[a]!.lock();
      yield* s.forks[b]!.lock();
      yield* s.forks[b]!.unlock();
      yield* s.forks[a]!.unlock();
    };
  }
  return {
    name: `ordered-philosophers(${n})`,
    setup: () => ({ forks: Array.from({ length: n }, (_, i) => new Mutex(`fork${i}`)) }),
    threads,
  };
}

/** A -> B in one thread, B -> A in the other, both under a gate lock G: never deadlocks, but lockdep objects. */
export function gatedInversion(): Program<{ g: Mutex; a: Mutex; b: Mutex }> {
  return {
    name: 'gated-inversion',
    setup: () => ({ g: new Mutex('G'), a: new Mutex('A'), b: new Mutex('B') }),
    threads: {
      t1: function* (s) {
        yield* s.g.lock();
        yield* s.a.lock();
        yield* s.b.lock();
        yield* s.b.unlock();
        yield* s.a.unlock();
        yield* s.g.unlock();
      },
      t2: function* (s) {
        yield* s.g.lock();
        yield* s.b.lock();
        yield* s.a.lock();
        yield* s.a.unlock();
        yield* s.b.unlock();
        yield* s.g.unlock();
      },
    },
  };
}

/** A reader takes an rw_semaphore twice; a writer queues in between and the second down_read blocks. */
export function recursiveRead(): Program<{ sem: RwSem }> {
  return {
    name: 'recursive-down-read',
    setup: () => ({ sem: new RwSem('sem') }),
    threads: {
      reader: function* (s) {
        yield* s.sem.downRead();
        yield* s.sem.downRead();
        yield* s.sem.upRead();
        yield* s.sem.upRead();
      },
      writer: function* (s) {
        yield* s.sem.downWrite();
        yield* s.sem.upWrite();
      },
    },
  };
}

/** Readers and writers of a counter under an rwsem: writers never lose updates, readers see whole ones. */
export function rwCounter(readersN: number, writersN: number): Program<{ sem: RwSem; c: Cell<number> }> {
  const threads: Record<string, (s: { sem: RwSem; c: Cell<number> }) => Thread> = {};
  for (let i = 0; i < writersN; i++) {
    threads[`w${i}`] = function* (s) {
      yield* s.sem.downWrite();
      const v = yield* s.c.read();
      yield* s.c.write(v + 1);
      yield* s.sem.upWrite();
    };
  }
  for (let i = 0; i < readersN; i++) {
    threads[`r${i}`] = function* (s) {
      yield* s.sem.downRead();
      yield* s.c.read();
      yield* s.sem.upRead();
    };
  }
  return {
    name: `rw-counter(${readersN},${writersN})`,
    setup: () => ({ sem: new RwSem('sem'), c: new Cell('c', 0) }),
    threads,
    final: (s) => (s.c.value === writersN ? undefined : `lost update: ${s.c.value}`),
  };
}

/** Producer/consumers on a completion. */
export function completions(
  waiters: number,
  completes: number,
): Program<{ done: Completion; x: Cell<number> }> {
  const threads: Record<string, (s: { done: Completion; x: Cell<number> }) => Thread> = {};
  for (let i = 0; i < completes; i++) {
    threads[`c${i}`] = function* (s) {
      yield* s.x.write(i + 1);
      yield* s.done.complete();
    };
  }
  for (let i = 0; i < waiters; i++) {
    threads[`w${i}`] = function* (s) {
      yield* s.done.wait();
      yield* s.x.read();
    };
  }
  return {
    name: `completions(${waiters},${completes})`,
    setup: () => ({ done: new Completion('done'), x: new Cell('x', 0) }),
    threads,
  };
}

export function factorial(n: number): number {
  return n <= 1 ? 1 : n * factorial(n - 1);
}
