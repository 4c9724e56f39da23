// struct completion (kernel/sched/completion.c): a counter of "done" events. wait() blocks until
// the count is positive and consumes one; complete() adds one; completeAll() makes it permanent.

import { K, Op } from './op.js';
import { Prim } from './prim.js';
import type { Thread } from './program.js';

const ALL = Number.MAX_SAFE_INTEGER;

export class Completion extends Prim {
  readonly type = 'completion' as const;
  done = 0;
  private readonly waitOp = new Op(K.WAIT, this);
  private readonly completeOp = new Op(K.COMPLETE, this);
  private readonly completeAllOp = new Op(K.COMPLETE_ALL, this);

  // kernel/sched/completion.c: wait_for_completion()
  wait(): Thread<void> {
    return this.waitOp as unknown as Thread<void>;
  }

  // kernel/sched/completion.c: complete()
  complete(): Thread<void> {
    return this.completeOp as unknown as Thread<void>;
  }

  // kernel/sched/completion.c: complete_all()
  completeAll(): Thread<void> {
    return this.completeAllOp as unknown as Thread<void>;
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
