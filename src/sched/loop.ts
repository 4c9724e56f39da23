// Retry loops that two threads can take turns in for ever.
//
// Some kernel paths retry until the state lets them through, and another thread's retry loop can
// undo each attempt: a page fault re-maps a BAR page, a zap loop unmaps it again, the access faults
// again. Under a fair scheduler one of them gets through; a stateless search, which tries every
// schedule, would go round forever (the model's retry bounds stop it and the search then calls
// itself incomplete). Model code marks the top of each iteration of such a loop with loopHead();
// the executor (execution.ts) stops the thread when that iteration begins in a state the same
// execution was already in — the same shared objects and plain shared data, every other thread
// that ran in between back at the same place of the same loop iteration as then. Whatever the
// execution could do from here it could do from that earlier point, whose continuations the
// search explores in their own right, so the rest adds nothing: docs/explorer.md "Retry cycles".

import { currentHost } from './prim.js';

/**
 * Marks the top of one iteration of a retry loop, called from model code. `invocation` is an
 * object created once per call of the function that loops (the same for each of its iterations);
 * the rules for the caller:
 * - the next thing the thread does after loopHead() is yield an operation (no plain data changes
 *   between them);
 * - at the top of an iteration the loop's own local state is fixed by the invocation (a retry
 *   counter that only feeds a model bound is allowed: it changes nothing the iteration does).
 */
export function loopHead(invocation: object): void {
  currentHost()?.loopHead?.(invocation);
}

/** Marks the end of a retry loop's invocation (every way out of it: call it in a `finally`). */
export function loopEnd(invocation: object): void {
  currentHost()?.loopEnd?.(invocation);
}
