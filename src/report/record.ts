// What one replayed execution of a scenario leaves behind for the reports: every event with the
// model's call stack at that point (kernel function names), the marks the scenario layer and the
// page-table recorder add between events (an operation's start and outcome, a leaf set or
// cleared, a dma-buf revoked), and the memory map at the end. The text trace, the Perfetto
// export and the HTML report all render this one record.

/** One scheduler event of the execution, in order. */
export interface TraceStep {
  /** Position in the execution (0-based): the schedule's event number. */
  index: number;
  thread: string;
  /** The primitive operation: read, write, rmw, lock, unlock, down_read, up_write, wait, ... */
  op: string;
  /** The shared object's name (a lock, a page-table entry, a device register). */
  object: string;
  /** What the operation returned, printable. */
  result?: string;
  /** Source location of the model code that issued the event (src/...:line:col). */
  site?: string;
  /**
   * The slots of the object it touched, [lo, hi), when it touched only some (a page-table access:
   * the entries it read or wrote); absent when it touched the whole object. Two steps conflict
   * when they touch the same object in overlapping slots and one of them is not read-like, as the
   * explorer's dependence relation says (src/sched/op.ts `conflicts`).
   */
  slots?: [number, number];
  /**
   * Kernel functions active at the event, outermost first, in kernel spelling
   * (`vfio_pci_mmap_huge_fault`): the model's generator frames, renamed from camelCase.
   * The scenario operation itself appears first as `op:<name>` (for example `op:mmap`).
   */
  stack: string[];
}

export type MarkKind =
  | 'op-begin' // a scenario operation starts (data: op, args)
  | 'op-end' // it returned (data: op, outcome, expected?)
  | 'leaf-set' // a page-table leaf became present (data: process, level, va, pfn)
  | 'leaf-clear' // a present leaf was cleared (data: process, level, va, pfn)
  | 'revoke' // a dma-buf's revoke state changed (data: dmabuf, state)
  | 'violation'; // the explorer reported a violation here (data: kind, id)

/** Something that happened between events: after `after` events have run (0 = before the first). */
export interface Mark {
  after: number;
  /** The scenario thread it belongs to, when it belongs to one ('setup' for the setup list). */
  thread?: string;
  kind: MarkKind;
  /** One line for people. */
  text: string;
  data: Record<string, string | number | boolean>;
}

export interface LeafView {
  level: 'pte' | 'pmd' | 'pud';
  /** Virtual address of the leaf's first byte. */
  va: number;
  /** Bytes it maps. */
  size: number;
  pfn: number;
  /**
   * A run of this many leaves, each `size` bytes mapping the pfns after the one before it (the
   * page tables of a large mapping are reported as runs). Absent: one leaf.
   */
  count?: number;
}

export interface VmaView {
  start: number;
  end: number;
  /** `rw-s` style protection and sharing, plus flags worth seeing (pfnmap, io, dontexpand, ...). */
  flags: string;
  /** What `vm_file` is: `vfio-device gpu0`, `dma-buf gpu0.dmabuf1`, ... (or `anon`). */
  file: string;
  /** vm_pgoff in bytes. */
  offset: number;
  leaves: LeafView[];
}

export interface MemoryMap {
  processes: { name: string; vmas: VmaView[] }[];
  devices: {
    name: string;
    bars: { index: number; phys: number; size: number; structPages: boolean }[];
    dmabufs: { name: string; ranges: { paddr: number; len: number }[]; state: string }[];
    /** Memory decode on, power state, in reset. */
    state: string;
  }[];
  /** Leaves that were present during the execution and were cleared (what was zapped). */
  zapped: (LeafView & { process: string; after: number })[];
}

export interface RunRecord {
  scenario: { name: string; file: string; source: string };
  design: { name: string; options: Record<string, unknown> };
  /** The schedule that replays this execution. */
  schedule: string;
  steps: TraceStep[];
  marks: Mark[];
  memory: MemoryMap;
  /** Set when the schedule does not fit the scenario (another design, an edited file): where it broke. */
  replayError?: string;
  /** Every violation seen in this execution. */
  violations: { kind: string; id: string; message: string; thread?: string }[];
  /**
   * Set when a model bound stopped a thread in this execution (a search reports it as cut short,
   * reason `searchBound`): the thread and the bound's message.
   */
  bound?: string;
}
