// Where model code issued an operation: its source line and the chain of model functions above it.
// Captured only in replays made for people (traces, reports), never in the search.

/** The first stack frame outside the explorer: where model code called the primitive. */
export function captureSite(): string {
  const stack = new Error().stack ?? '';
  const lines = stack.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith('at ')) continue;
    if (/[/\\]sched[/\\][^/\\]+\.[jt]s/.test(line)) continue;
    // Paths relative to the project: drop everything up to src/, test/ or bench/ (and dist/).
    return line.slice(3).replace(/(?:file:\/\/)?[^ ()]*?[/\\](?:dist[/\\])?((?:src|test|bench)[/\\])/, '$1');
  }
  return '?';
}

/**
 * The model functions active at this point, outermost first: the frames of code outside the
 * explorer (src/kernel, src/uapi, src/scenario, tests), named as the kernel spells them
 * (`vfioPciMmapHugeFault` -> `vfio_pci_mmap_huge_fault`). Generators delegating with `yield*`
 * are all on the stack while the innermost one runs, so this is the kernel call chain.
 */
export function captureStack(): string[] {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const out: string[] = [];
  // The explorer's frames below the model code are the primitive; those above it are the executor
  // driving the thread, and past them is whoever asked for the replay (a CLI command, a test):
  // not kernel functions, even when the event came from the scenario interpreter with no kernel
  // function between.
  let pastPrimitive = false;
  for (const raw of stack.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('at ')) continue;
    if (/[/\\]sched[/\\][^/\\]+\.[jt]s/.test(line)) {
      if (pastPrimitive) break;
      continue;
    }
    pastPrimitive = true;
    if (!/[/\\](?:src|test|bench)[/\\]/.test(line) || line.includes('node_modules')) continue;
    // The scenario interpreter drives the kernel; its frames are not kernel functions.
    if (/[/\\]src[/\\]scenario[/\\]/.test(line)) continue;
    // (a function called through an object member reads `Object.fn [as member] (`)
    const m = /^at (?:async )?(?:[\w$.<>]*\.)?([\w$]+)(?: \[as [\w$]+\])? \(/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (name === 'next' || name === 'Generator' || name === '<anonymous>') continue;
    out.push(kernelName(name));
  }
  return out.reverse();
}

/** camelCase model names in the kernel's snake_case (`vmfInsertPfnPmd` -> `vmf_insert_pfn_pmd`). */
export function kernelName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}
