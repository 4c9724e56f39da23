// What model behaviour a program reached (docs/hunt.md, "Coverage"): V8's block coverage of the
// kernel model's own code (src/kernel, src/uapi, src/designs) — every function and every branch
// inside one that ran at least once during the program's executions. V8 counts blocks in the
// compiled code itself, so the explorer's hot path does no bookkeeping of its own (measured: about
// 10 % slower searches); the counters are read and reset once per program through the inspector
// protocol, which answers a session in the same thread synchronously.

import { Session } from 'node:inspector';

interface Range {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  url: string;
  functions: { functionName: string; ranges: Range[] }[];
}

/** A model function that ran, with the blocks inside it that did not. */
export interface FunctionCoverage {
  fn: string;
  holes: [number, number][];
}

/**
 * The model code the programs of a hunt reached so far: per function, the blocks no program has
 * reached yet (the intersection of the programs' holes).
 */
export class CoverageMap {
  private readonly holes = new Map<string, [number, number][]>();
  /** Blocks (functions and the branches inside them) reached so far. */
  blocks = 0;

  /** Adds a program's coverage; the number of blocks it reached first. */
  add(cov: readonly FunctionCoverage[]): number {
    let fresh = 0;
    for (const { fn, holes } of cov) {
      const old = this.holes.get(fn);
      if (!old) {
        this.holes.set(fn, holes);
        fresh++;
        continue;
      }
      // What stays unreached: the parts of the old holes that this program's holes also cover.
      const next: [number, number][] = [];
      for (const [a, b] of old)
        for (const [c, d] of holes) {
          const lo = Math.max(a, c);
          const hi = Math.min(b, d);
          if (lo < hi) next.push([lo, hi]);
        }
      const closed = old.filter(([a, b]) => !next.some(([c, d]) => c === a && d === b)).length;
      if (closed > 0) {
        fresh += closed;
        this.holes.set(fn, next);
      }
    }
    this.blocks += fresh;
    return fresh;
  }
}

/** The model's code, by the path of the compiled file. */
const MODEL = /[/\\]src[/\\](kernel|uapi|designs)[/\\]/;

export class BlockCoverage {
  private readonly session = new Session();
  private on = false;

  /** Starts counting (idempotent); counts from before are dropped. */
  start(): void {
    if (this.on) return;
    this.session.connect();
    this.post('Profiler.enable');
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    this.on = true;
    this.take();
  }

  /**
   * What ran since the last take, and resets the counts: each model function that ran (keyed
   * `file:offset`, `kernel/mm/memory.js:1234`) with the blocks inside it that did not (its
   * *holes*, [start, end) offsets). V8 reports a block only where its count differs from the
   * block around it, so the blocks that ran are not all listed, but those that did not run inside
   * one that did always are: holes are what a program's coverage is compared by.
   */
  take(): FunctionCoverage[] {
    if (!this.on) return [];
    const res = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const out: FunctionCoverage[] = [];
    for (const s of res.result) {
      const m = MODEL.exec(s.url);
      if (!m) continue;
      const file = s.url.slice(m.index + 5);
      for (const f of s.functions) {
        const [top, ...inner] = f.ranges;
        if (!top || top.count === 0) continue;
        const holes: [number, number][] = [];
        for (const r of inner) {
          if (r.count !== 0) continue;
          // Only the outermost: a hole inside a hole is no news.
          if (holes.some(([a, b]) => a <= r.startOffset && r.endOffset <= b)) continue;
          holes.push([r.startOffset, r.endOffset]);
        }
        out.push({ fn: `${file}:${top.startOffset}`, holes });
      }
    }
    return out;
  }

  stop(): void {
    if (!this.on) return;
    this.post('Profiler.stopPreciseCoverage');
    this.session.disconnect();
    this.on = false;
  }

  private post(method: string, params?: object): unknown {
    let result: unknown;
    let error: Error | null = null;
    let answered = false;
    this.session.post(method, params, (e, r) => {
      error = e;
      result = r;
      answered = true;
    });
    if (!answered) throw new Error(`the inspector did not answer ${method} synchronously`);
    if (error) throw error;
    return result;
  }
}
