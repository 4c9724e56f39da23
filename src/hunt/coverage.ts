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
   * The blocks that ran since the last take, as `file:offset` keys (`kernel/mm/memory.js:1234`), and
   * resets the counts.
   */
  take(): string[] {
    if (!this.on) return [];
    const res = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const out: string[] = [];
    for (const s of res.result) {
      const m = MODEL.exec(s.url);
      if (!m) continue;
      const file = s.url.slice(m.index + 5);
      for (const f of s.functions)
        for (const r of f.ranges) if (r.count > 0) out.push(`${file}:${r.startOffset}`);
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
