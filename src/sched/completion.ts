// struct completion (kernel/sched/completion.c): a counter of "done" events. wait() blocks until
// the count is positive and consumes one; complete() adds one; completeAll() makes it permanent.

import { K, shared } from './op.js';
import { Prim, type PrimOptions } from './prim.js';
import type { Thread } from './program.js';

const ALL = Number.MAX_SAFE_INTEGER;

export class Completion extends Prim {
  // A getter, not a field: the executor reads it while the base constructor registers the object.
  get type(): 'completion' {
    return 'completion';
  }

  constructor(name: string, options: PrimOptions = {}) {
    super(name, options);
  }
  done = 0;

  // kernel/sched/completion.c: wait_for_completion()
  wait(): Thread<void> {
    return shared(K.WAIT, this) as unknown as Thread<void>;
  }

  // kernel/sched/completion.c: complete()
  complete(): Thread<void> {
    return shared(K.COMPLETE, this) as unknown as Thread<void>;
  }

  // kernel/sched/completion.c: complete_all()
  completeAll(): Thread<void> {
    return shared(K.COMPLETE_ALL, this) as unknown as Thread<void>;
  }

  /** The count, capped: completions only add to it, so their effects add up. */
  override stateCode(): number {
    return Math.min(this.done, 2 ** 20);
  }

  override describeHolders(): string {
    return `done=${this.done === ALL ? 'all' : this.done}`;
  }

  /** @internal */
  enabled(kind: number): boolean {
    return kind !== K.WAIT || this.done > 0;
  }

  /** @internal */
  apply(kind: number): unknown {
    if (kind === K.WAIT) {
      if (this.done !== ALL) this.done--;
    } else if (kind === K.COMPLETE) {
      if (this.done !== ALL) this.done++;
    } else {
      this.done = ALL;
    }
    return undefined;
  }
}
