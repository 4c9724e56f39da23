// A violation raised by model code or by a program's invariant/final check.

export class Violation extends Error {
  constructor(
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = 'Violation';
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
