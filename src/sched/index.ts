// vfio-dmabuf-model/sched: the concurrency explorer (docs/explorer.md describes it).

export { runAtomically } from './atomic.js';
export { Cell } from './cell.js';
export { Completion } from './completion.js';
export { defaultSchedule, explore, replay } from './explore.js';
export type { Edge, LockCycle, LockMode } from './lockdep.js';
export { loopEnd, loopHead, resultOnly } from './loop.js';
export { type LockOptions, Mutex } from './mutex.js';
export type { Op } from './op.js';
export { currentThread, type Prim, type PrimOptions } from './prim.js';
export type {
  CheckedEvent,
  CheckpointBase,
  DporCheckpoint,
  ExhaustiveCheckpoint,
  ExplorationCheckpoint,
  ExploreOptions,
  ExploreResult,
  Incompleteness,
  IncompleteReason,
  Program,
  Progress,
  ReplayResult,
  SavedBranch,
  SavedIds,
  Strategy,
  Thread,
  TraceEvent,
  ViolationKind,
  ViolationReport,
} from './program.js';
export { DEFAULT_MAX_STEPS } from './program.js';
export { RefCount } from './refcount.js';
export { RwSem } from './rwsem.js';
export { decodeSchedule, encodeSchedule, ScheduleError } from './schedule.js';
export { SearchBound, Violation, Violations } from './violation.js';
