// Where model code issued an operation: its source line and the chain of model functions above it.
// Captured only in replays made for people (traces, reports), never in the search.

/** Primitives and the explorer: frames of src/sched are never model code. */
const SCHED = /[/\\]sched[/\\][^/\\]+\.[jt]s/;
/**
 * The code that drives a thread: the executor resuming it (execution.ts) and setup running code to
 * completion (atomic.ts). A thread's own frames end there; what is below (the strategy, a report,
 * the command line, a test) called the explorer, not the kernel.
 */
const DRIVER = /[/\\]sched[/\\](?:execution|atomic)\.[jt]s/;
/** Frames the stack keeps: model code in the project, not the scenario interpreter. */
const PROJECT = /[/\\](?:src|test|bench)[/\\]/;
const SCENARIO = /[/\\]src[/\\]scenario[/\\]/;
/** The function of a frame (one called through an object member reads `Object.fn [as member] (`). */
const FRAME = /^at (?:async )?(?:[\w$.<>]*\.)?([\w$]+)(?: \[as [\w$]+\])? \(/;
/** Deep enough for any kernel call chain the model has, up to the driver's frame. */
const FRAMES = 128;

/** An operation's call site and the model functions active there (Op.site, Op.stack). */
export interface CallSite {
  site: string | undefined;
  stack: string[] | undefined;
}

/**
 * Records where the running thread issues an operation, into `into`: `site`, the first frame outside
 * the explorer (where model code called the primitive), and `stack`, the model functions active
 * there, outermost first: the thread's frames of code outside the explorer (src/kernel, src/uapi,
 * tests), named as the kernel spells them (`vfioPciMmapHugeFault` -> `vfio_pci_mmap_huge_fault`).
 * Generators delegating with `yield*` are all on the stack while the innermost one runs, so this is
 * the kernel call chain. The walk stops at the frame that resumed the thread, so nothing of its
 * caller (a report, the command line) is taken for a kernel function. One stack trace per call.
 */
export function captureCall(into: CallSite): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = FRAMES;
  const trace = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  let site: string | undefined;
  const out: string[] = [];
  for (const raw of trace.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('at ')) continue;
    if (DRIVER.test(line)) break;
    if (SCHED.test(line)) continue;
    // Paths relative to the project: drop everything up to src/, test/ or bench/ (and dist/).
    site ??= line
      .slice(3)
      .replace(/(?:file:\/\/)?[^ ()]*?[/\\](?:dist[/\\])?((?:src|test|bench)[/\\])/, '$1');
    if (!PROJECT.test(line) || line.includes('node_modules')) continue;
    // The scenario interpreter drives the kernel; its frames are not kernel functions.
    if (SCENARIO.test(line)) continue;
    const m = FRAME.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (name === 'next' || name === 'Generator' || name === '<anonymous>') continue;
    out.push(kernelName(name));
  }
  into.site = site ?? '?';
  into.stack = out.reverse();
}

/** The first stack frame outside the explorer: where model code called the primitive. */
export function captureSite(): string {
  const c: CallSite = { site: undefined, stack: undefined };
  captureCall(c);
  return c.site!;
}

/** The model functions active at this point, outermost first (see captureCall). */
export function captureStack(): string[] {
  const c: CallSite = { site: undefined, stack: undefined };
  captureCall(c);
  return c.stack!;
}

/** camelCase model names in the kernel's snake_case (`vmfInsertPfnPmd` -> `vmf_insert_pfn_pmd`). */
export function kernelName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}
