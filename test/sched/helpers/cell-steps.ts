// The steps of the folding property tests' random programs: a read, a write or an increment of
// one of three cells, alone or inside a critical section of a mutex or an rw_semaphore.

import fc from 'fast-check';

export interface CellStep {
  kind: 'read' | 'write' | 'inc';
  cell: number;
  value: number;
  /** The critical section the step runs in, if any. */
  lock: 'none' | 'mutex' | 'read' | 'write';
}

export const cellStepArb: fc.Arbitrary<CellStep> = fc.record({
  kind: fc.constantFrom('read' as const, 'write' as const, 'inc' as const),
  cell: fc.nat(2),
  value: fc.integer({ min: 1, max: 2 }),
  lock: fc.constantFrom('none' as const, 'mutex' as const, 'read' as const, 'write' as const),
});
