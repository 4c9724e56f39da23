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
 * caller (a report, the command line) is taken for a kernel function. One structured stack trace
 * per call, and a formatted one per call chain not seen before.
 */
export function captureCall(into: CallSite): void {
  // The formatted (source-mapped) stack is what names sites and functions, and formatting it is
  // most of a replay's time; the same code positions always format the same way, so the result is
  // kept per chain of positions, read from V8's structured frames, which cost no formatting.
  const key = positionsKey();
  let hit = key === null ? undefined : known.get(key);
  if (hit === undefined) {
    hit = fromFormattedStack();
    if (key !== null) {
      if (known.size >= KNOWN_MAX) known.clear();
      known.set(key, hit);
    }
  }
  into.site = hit.site;
  // Each op keeps its own array: the cached one is shared by every call of the chain.
  into.stack = hit.stack.slice();
}

/** A call chain as fromFormattedStack() read it. */
interface ReadCall {
  site: string;
  stack: string[];
}

/** Call chains formatted so far, by positionsKey(). */
const known = new Map<string, ReadCall>();
const KNOWN_MAX = 20_000;

/** V8's frame objects (the stack-trace API's CallSite), as far as the key reads them. */
interface V8Frame {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getMethodName(): string | null;
  getTypeName(): string | null;
  isAsync?(): boolean;
}

const structured = (_e: Error, frames: V8Frame[]): V8Frame[] => frames;

/**
 * The code positions of the stack up to and including the driver's frame (where the thread's own
 * frames end): what decides how fromFormattedStack() reads it. A position fixes its function's
 * name; a frame's source-mapped name can come from the frame below it, which is why the driver's
 * frame is in the key too. The receiver's type and the member called, which the site's text shows,
 * are keyed for the first frame outside the explorer. Null when the structured frames cannot be had.
 */
function positionsKey(): string | null {
  // V8's stack-trace API; other engines (the playground in a browser) format every time.
  if (typeof Error.captureStackTrace !== 'function') return null;
  const prev = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = FRAMES;
  Error.prepareStackTrace = structured as unknown as typeof Error.prepareStackTrace;
  const holder: { stack?: unknown } = {};
  let frames: unknown;
  try {
    Error.captureStackTrace(holder, captureCall);
    frames = holder.stack;
  } finally {
    Error.prepareStackTrace = prev;
    Error.stackTraceLimit = limit;
  }
  if (!Array.isArray(frames)) return null;
  let key = '';
  let named = false;
  for (const f of frames as V8Frame[]) {
    const file = f.getFileName() ?? '';
    let id = fileIds.get(file);
    if (id === undefined) {
      id = fileIds.size;
      fileIds.set(file, id);
    }
    key += `${id}:${f.getLineNumber()}:${f.getColumnNumber()},`;
    if (!named && !SCHED.test(file)) {
      named = true;
      key += `${f.getTypeName()}.${f.getMethodName()}${f.isAsync?.() === true ? ' async' : ''},`;
    }
    if (DRIVER.test(file)) break;
  }
  return key;
}

/** Small numbers for the files in keys. */
const fileIds = new Map<string, number>();

/** captureCall() from a formatted stack trace: the only reading of frames (positionsKey() keys it). */
function fromFormattedStack(): ReadCall {
  const limit = Error.stackTraceLimit;
  // One more than captureCall() reads: this function's own frame is on top.
  Error.stackTraceLimit = FRAMES + 1;
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
  return { site: site ?? '?', stack: out.reverse() };
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
