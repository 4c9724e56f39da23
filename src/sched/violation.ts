// A violation raised by model code or by a program's invariant/final check.

export class Violation extends Error {
  constructor(
    readonly id: string,
    message: string,
  ) {
    // No stack trace: a violation is a finding about the model's state, told by its id, message
    // and the execution's own trace; searches raise them in most executions of a buggy design, and
    // capturing a stack each time cost 2.5 % of a v5.8 search (pread-across-bars).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'Violation';
  }
}

/**
 * Several violations at once, thrown by an invariant that checks parts of the state and found more
 * than one broken after the same event: each is reported.
 */
export class Violations extends Error {
  constructor(readonly all: readonly Violation[]) {
    super(all.map((v) => `${v.id}: ${v.message}`).join('; '));
    this.name = 'Violations';
  }
}

/**
 * Thrown by model code that gives up after a bounded number of retries it could otherwise repeat
 * for ever under an unfair schedule (a CPU re-faulting while another thread keeps zapping). The
 * thread stops, no violation is reported, and the exploration is marked incomplete: like any bound,
 * it cuts the search rather than claiming a bug.
 */
export class SearchBound extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchBound';
  }
}
