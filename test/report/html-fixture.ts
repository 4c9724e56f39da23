// A realistic HTML report input built by hand: a revoke of a dma-buf racing a fault on it, on the
// dmabuf-backed design. Three threads (vmm and admin in process `primary`, guest in `client`), about
// 40 steps with kernel stacks, marks of every kind, lock hand-offs, a memory map with two processes,
// PUD/PMD/PTE leaves (600 contiguous PTEs among them), two devices with BARs and a revoked dma-buf,
// zapped leaves; a check with two violations and a comparison of three designs.
//
// With `hostile`, strings that would run script or break markup if not escaped go into the scenario
// name, the YAML source, a violation message, a thread name, an object name and a design option.

import type { HtmlReportInput } from '../../src/report/html.js';
import type { LeafView, Mark, MemoryMap, RunRecord, TraceStep } from '../../src/report/record.js';
import type { CheckReport, CompareReport } from '../../src/report/results.js';

/** Would run if the report let markup through: sets `window.__pwned`. */
export const PWN_SCRIPT = '<script>window.__pwned = true</script>';
export const PWN_IMG = '<img src=x onerror="window.__pwned = true">';
export const ALERT = '<script>alert(1)</script>';
export const QUOTES = `"&'<>`;
export const HOSTILE = [PWN_SCRIPT, PWN_IMG, ALERT, QUOTES];

export const FILE = 'examples/revoke-vs-fault.yaml';
export const PTE_RUN = 600;

export interface FixtureOptions {
  hostile?: boolean;
}

const MiB = 1 << 20;
const GiB = 1 << 30;
const PAGE = 4096;

function source(name: string, hostile: boolean): string {
  return `name: ${hostile ? JSON.stringify(name) : name}
${hostile ? `# ${PWN_SCRIPT} ${PWN_IMG} ${ALERT} ${QUOTES}\n` : ''}machine: { arch: x86_64, thp: always }
devices:
  - name: gpu0
    bars:
      - { index: 0, size: 1G, phys: 0x3800000000, structPages: false }
      - { index: 2, size: 32M, phys: 0x3840000000, structPages: false }
  - name: nic1
    bars: [ { index: 0, size: 16M, phys: 0xfe000000, structPages: false } ]
design: { name: dmabuf-backed, step: 5 }
processes: { primary: [vmm, admin], client: [guest] }
setup:
  - open:   { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0x200000, length: 4M } ], as: buf }
  - mmap:   { fd: buf, offset: 0, length: 4M, as: m }
  - send:   { fd: buf, to: client, as: buf }
threads:
  vmm:
    - load:   { map: m, offset: 0x1000, expect: any }
  admin:
    - revoke: { fd: dev, dmabuf: buf, expect: ok }
  guest:
    - mmap:   { fd: buf, offset: 0, length: 4M, as: gm }
    - load:   { map: gm, offset: 0, expect: sigbus }
check: { strategy: dpor, invariants: all }
expect: { violations: [] }
`;
}

function steps(guest: string, hostileObject: string): TraceStep[] {
  const out: TraceStep[] = [];
  const at = (line: number) => `src/kernel/vfio/pci/core.ts:${line}:7`;
  const s = (thread: string, op: string, object: string, stack: string[], result?: string, site?: string) => {
    const step: TraceStep = { index: out.length, thread, op, object, stack };
    if (result !== undefined) step.result = result;
    if (site !== undefined) step.site = site;
    out.push(step);
  };
  const fault = ['op:load', 'handle_mm_fault', 'vfio_pci_mmap_huge_fault'];
  const revoke = ['op:revoke', 'vfio_pci_core_feature_dma_buf', 'vfio_pci_dma_buf_move'];
  const zap = [...revoke, 'unmap_mapping_range', 'zap_page_range_single'];
  const gfault = ['op:load', 'handle_mm_fault', 'dma_buf_vm_fault'];
  // 0-5: the vmm faults and takes the locks.
  s('vmm', 'down_read', 'primary.mmap_lock', ['op:load', 'do_user_addr_fault', 'lock_mm_and_find_vma']);
  s('vmm', 'read', 'primary.vma[0x7f00c0000000]', ['op:load', 'do_user_addr_fault', 'find_vma']);
  s('vmm', 'down_read', 'gpu0.memory_lock', fault, undefined, at(1712));
  s('vmm', 'read', 'gpu0.vconfig.PCI_COMMAND', [...fault, '__vfio_pci_memory_enabled'], '0x6', at(1718));
  s('admin', 'lock', 'gpu0.dmabufs.lock', revoke, undefined, at(2210));
  s('admin', 'read', 'gpu0.dmabuf1.revoked', revoke, 'false');
  // 6-11: the vmm reads the page table while the admin waits.
  s('vmm', 'read', 'buf.priv.revoked', [...fault, 'vfio_pci_dma_buf_find_pfn'], 'false');
  s('vmm', 'read', 'primary.pgd[0x7f00c0000000]', [...fault, 'vmf_insert_pfn_pmd'], 'present');
  s('vmm', 'read', 'primary.pud[0x7f00c0000000]', [...fault, 'vmf_insert_pfn_pmd'], 'present');
  s('vmm', 'read', 'primary.pmd[0x7f00c0000000]', [...fault, 'vmf_insert_pfn_pmd'], 'none');
  s(
    'vmm',
    'write',
    'primary.pmd[0x7f00c0000000]',
    [...fault, 'vmf_insert_pfn_pmd', 'insert_pfn_pmd'],
    undefined,
  );
  s('admin', 'down_write', 'gpu0.memory_lock', revoke, 'queued', at(2231));
  // 12-13: the vmm releases; the admin's writer wait is handed the lock.
  s('vmm', 'up_read', 'gpu0.memory_lock', fault, undefined, at(1760));
  s('admin', 'down_write(wait)', 'gpu0.memory_lock', revoke);
  // 14-23: the admin marks the buffer revoked and zaps the dma-buf's mappings.
  s('admin', 'write', 'gpu0.dmabuf1.revoked', revoke, undefined, at(2240));
  s('admin', 'down_write', 'buf.i_mmap_rwsem', [...revoke, 'unmap_mapping_range']);
  s('admin', 'read', 'primary.pmd[0x7f00c0000000]', zap, 'present');
  s('admin', 'write', 'primary.pmd[0x7f00c0000000]', zap, undefined);
  s('admin', 'read', 'primary.pmd[0x7f00c0200000]', zap, 'present');
  s('admin', 'write', 'primary.pmd[0x7f00c0200000]', zap, undefined);
  s('admin', 'read', 'client.pte[0x7fa000000000]', zap, 'present');
  s('admin', 'write', 'client.pte[0x7fa000000000]', zap, undefined);
  s('admin', 'read', hostileObject, zap, 'none');
  s('admin', 'read', 'client.pte[0x7fa000002000]', zap, 'none');
  // 24-27: the guest tries to fault on its mapping while the zap holds the rwsem.
  s(guest, 'down_read', 'client.mmap_lock', ['op:load', 'do_user_addr_fault', 'lock_mm_and_find_vma']);
  s(guest, 'read', 'client.vma[0x7fa000000000]', ['op:load', 'do_user_addr_fault', 'find_vma']);
  s(guest, 'trylock', 'buf.resv', [...gfault, 'dma_resv_trylock'], 'false');
  s('admin', 'up_write', 'buf.i_mmap_rwsem', [...revoke, 'unmap_mapping_range']);
  // 28-33: the admin finishes the revoke; the guest gets the reservation lock.
  s('admin', 'rmw', 'gpu0.dmabuf1.kref', [...revoke, 'dma_buf_put'], '2');
  s('admin', 'up_write', 'gpu0.memory_lock', revoke, undefined, at(2260));
  s('admin', 'unlock', 'gpu0.dmabufs.lock', revoke, undefined, at(2262));
  s(guest, 'lock', 'gpu0.dmabufs.lock', [...gfault, 'vfio_pci_dma_buf_fault']);
  s(guest, 'read', 'gpu0.dmabuf1.revoked', [...gfault, 'vfio_pci_dma_buf_fault'], 'true');
  s(guest, 'unlock', 'gpu0.dmabufs.lock', [...gfault, 'vfio_pci_dma_buf_fault']);
  // 34-41: the vmm comes back through a stale TLB entry and loads from the revoked range.
  s('vmm', 'down_read', 'primary.mmap_lock', ['op:load', 'do_user_addr_fault', 'lock_mm_and_find_vma']);
  s('vmm', 'read', 'primary.tlb[0x7f00c0001000]', ['op:load', 'cpu_load'], 'pfn 0x3800201');
  s('vmm', 'read', 'gpu0.bar0@0x3800201000', ['op:load', 'cpu_load', 'mmio_read'], '0xffffffff');
  s('vmm', 'up_read', 'primary.mmap_lock', ['op:load', 'do_user_addr_fault']);
  s(guest, 'up_read', 'client.mmap_lock', ['op:load', 'do_user_addr_fault']);
  s('vmm', 'read', 'primary.tlb[0x7f00c0002000]', ['op:load', 'cpu_load'], 'pfn 0x3800202');
  s('vmm', 'read', 'primary.tlb[0x7f00c0003000]', ['op:load', 'cpu_load'], 'pfn 0x3800203');
  s('vmm', 'read', 'primary.tlb[0x7f00c0004000]', ['op:load', 'cpu_load'], 'pfn 0x3800204');
  return out;
}

function marks(guest: string): Mark[] {
  const m = (
    after: number,
    thread: string | undefined,
    kind: Mark['kind'],
    text: string,
    data: Mark['data'],
  ) => {
    const mark: Mark = { after, kind, text, data };
    if (thread !== undefined) mark.thread = thread;
    return mark;
  };
  return [
    m(0, 'setup', 'op-begin', 'open(device=gpu0) as dev', { op: 'open', args: 'device=gpu0' }),
    m(0, 'setup', 'op-end', 'open → ok', { op: 'open', outcome: 'ok' }),
    m(0, 'setup', 'op-begin', 'export(fd=dev, region=0) as buf', { op: 'export', args: 'fd=dev, region=0' }),
    m(0, 'setup', 'op-end', 'export → ok', { op: 'export', outcome: 'ok' }),
    m(0, 'vmm', 'op-begin', 'load(map=m, offset=0x1000)', { op: 'load', args: 'map=m, offset=0x1000' }),
    m(0, 'admin', 'op-begin', 'revoke(fd=dev, dmabuf=buf)', { op: 'revoke', args: 'fd=dev, dmabuf=buf' }),
    m(0, guest, 'op-begin', 'load(map=gm, offset=0)', { op: 'load', args: 'map=gm, offset=0' }),
    m(11, 'vmm', 'leaf-set', 'primary PMD 0x7f00c0000000 → pfn 0x3800200', {
      process: 'primary',
      level: 'pmd',
      va: 0x7f00c0000000,
      pfn: 0x3800200,
    }),
    m(15, 'admin', 'revoke', 'gpu0.dmabuf1 revoked', { dmabuf: 'gpu0.dmabuf1', state: 'revoked' }),
    m(18, 'admin', 'leaf-clear', 'primary PMD 0x7f00c0000000 (pfn 0x3800200) cleared', {
      process: 'primary',
      level: 'pmd',
      va: 0x7f00c0000000,
      pfn: 0x3800200,
    }),
    m(20, 'admin', 'leaf-clear', 'primary PMD 0x7f00c0200000 (pfn 0x3800400) cleared', {
      process: 'primary',
      level: 'pmd',
      va: 0x7f00c0200000,
      pfn: 0x3800400,
    }),
    m(22, 'admin', 'leaf-clear', 'client PTE 0x7fa000000000 (pfn 0x3800200) cleared', {
      process: 'client',
      level: 'pte',
      va: 0x7fa000000000,
      pfn: 0x3800200,
    }),
    m(31, 'admin', 'op-end', 'revoke → ok', { op: 'revoke', outcome: 'ok', expected: 'ok' }),
    m(34, guest, 'op-end', 'load → ok (expected sigbus)', { op: 'load', outcome: 'ok', expected: 'sigbus' }),
    m(36, 'vmm', 'violation', 'MAPPING_AFTER_REVOKE: vmm loaded pfn 0x3800201 of revoked gpu0.dmabuf1', {
      kind: 'invariant',
      id: 'MAPPING_AFTER_REVOKE',
    }),
    m(42, 'vmm', 'op-end', 'load → ok', { op: 'load', outcome: 'ok', expected: 'any' }),
  ];
}

function ptes(va: number, pfn: number, n: number): LeafView[] {
  return Array.from({ length: n }, (_, i) => ({
    level: 'pte' as const,
    va: va + i * PAGE,
    size: PAGE,
    pfn: pfn + i,
  }));
}

function memory(): MemoryMap {
  return {
    processes: [
      {
        name: 'primary',
        vmas: [
          {
            start: 0x7f0000000000,
            end: 0x7f0000000000 + GiB,
            flags: 'rw-s pfnmap io dontexpand dontdump',
            file: 'vfio-device gpu0',
            offset: 0,
            leaves: [{ level: 'pud', va: 0x7f0000000000, size: GiB, pfn: 0x3800000 }],
          },
          {
            start: 0x7f0080000000,
            end: 0x7f0080000000 + 8 * MiB,
            flags: 'rw-s pfnmap io dontexpand',
            file: 'vfio-device gpu0',
            offset: 0x20000000000,
            leaves: [
              { level: 'pmd', va: 0x7f0080000000, size: 2 * MiB, pfn: 0x3840000 },
              { level: 'pmd', va: 0x7f0080200000, size: 2 * MiB, pfn: 0x3840200 },
              { level: 'pmd', va: 0x7f0080600000, size: 2 * MiB, pfn: 0x3840600 },
            ],
          },
          {
            start: 0x7f00c0000000,
            end: 0x7f00c0000000 + 4 * MiB,
            flags: 'rw-s pfnmap io dontexpand',
            file: 'dma-buf gpu0.dmabuf1',
            offset: 0,
            leaves: [],
          },
          {
            start: 0x7f0100000000,
            end: 0x7f0100000000 + 16 * MiB,
            flags: 'rw-s pfnmap io dontexpand',
            file: 'vfio-device nic1',
            offset: 0,
            leaves: [
              // Shuffled on purpose: the runs do not depend on the order leaves are listed in.
              ...ptes(0x7f0100000000, 0xfe000, PTE_RUN).reverse(),
              ...ptes(0x7f0100400000, 0xfe400, 1),
              ...ptes(0x7f0100402000, 0xfe402, 1),
              ...ptes(0x7f0100800000, 0xfe900, 3),
            ],
          },
        ],
      },
      {
        name: 'client',
        vmas: [
          {
            start: 0x55d000000000,
            end: 0x55d000021000,
            flags: 'rw-p',
            file: 'anon',
            offset: 0,
            leaves: [...ptes(0x55d000000000, 0x12345, 2), ...ptes(0x55d000010000, 0x2a000, 1)],
          },
          {
            start: 0x7fa000000000,
            end: 0x7fa000000000 + 4 * MiB,
            flags: 'rw-s pfnmap io dontexpand',
            file: 'dma-buf gpu0.dmabuf1',
            offset: 0,
            leaves: [],
          },
        ],
      },
    ],
    devices: [
      {
        name: 'gpu0',
        bars: [
          { index: 0, phys: 0x3800000000, size: GiB, structPages: false },
          { index: 2, phys: 0x3840000000, size: 32 * MiB, structPages: false },
        ],
        dmabufs: [
          { name: 'gpu0.dmabuf1', ranges: [{ paddr: 0x3800200000, len: 4 * MiB }], state: 'revoked' },
          {
            name: 'gpu0.dmabuf2',
            ranges: [
              { paddr: 0x3840000000, len: 2 * MiB },
              { paddr: 0x3841000000, len: 4 * MiB },
            ],
            state: 'active',
          },
        ],
        state: 'decode on, D0',
      },
      {
        name: 'nic1',
        bars: [{ index: 0, phys: 0xfe000000, size: 16 * MiB, structPages: false }],
        dmabufs: [],
        state: 'decode on, D0',
      },
    ],
    zapped: [
      { process: 'primary', after: 18, level: 'pmd', va: 0x7f00c0000000, size: 2 * MiB, pfn: 0x3800200 },
      { process: 'primary', after: 20, level: 'pmd', va: 0x7f00c0200000, size: 2 * MiB, pfn: 0x3800400 },
      ...ptes(0x7fa000000000, 0x3800200, 16).map((l, i) => ({
        ...l,
        process: 'client',
        after: 22 + (i > 0 ? 1 : 0),
      })),
    ],
  };
}

export function makeRecord(opts: FixtureOptions = {}): RunRecord {
  const hostile = opts.hostile ?? false;
  const name = hostile ? `revoke ${ALERT} ${QUOTES}` : 'revoke races a fault';
  const guest = hostile ? `guest${QUOTES}${PWN_SCRIPT}` : 'guest';
  const object = hostile ? `client.pte[${ALERT}${PWN_IMG}]` : 'client.pte[0x7fa000001000]';
  return {
    scenario: { name, file: FILE, source: source(name, hostile) },
    design: {
      name: 'dmabuf-backed',
      options: { step: 5, revokeCheckLock: hostile ? QUOTES : 'memory_lock' },
    },
    schedule: 'a4b2a5b{1}a3b10c3b4c3a3b:5e1f0c2a',
    steps: steps(guest, object),
    marks: marks(guest),
    memory: memory(),
    violations: [
      {
        kind: 'invariant',
        id: 'MAPPING_AFTER_REVOKE',
        message: hostile
          ? `vmm loaded ${PWN_IMG} ${QUOTES}`
          : 'vmm loaded pfn 0x3800201 of revoked gpu0.dmabuf1 through PMD 0x7f00c0000000',
        thread: 'vmm',
      },
      { kind: 'expect', id: 'EXPECT', message: `${guest}: load returned ok, expected sigbus`, thread: guest },
    ],
  };
}

export function makeCheck(opts: FixtureOptions = {}): CheckReport {
  const hostile = opts.hostile ?? false;
  return {
    scenario: hostile ? `revoke ${ALERT} ${QUOTES}` : 'revoke races a fault',
    design: 'dmabuf-backed',
    verdict: 'fail',
    executions: 18423,
    complete: true,
    violations: [
      {
        invariant: 'MAPPING_AFTER_REVOKE',
        message: hostile
          ? `vmm loaded ${PWN_SCRIPT} ${ALERT} ${QUOTES}`
          : 'after revoke of gpu0.dmabuf1 returned, PMD 0x7f00c0000000 of primary still maps pfn 0x3800200',
        schedule: 'a4b2a5b{1}a3b10c3b4c3a3b:5e1f0c2a',
        kind: 'invariant',
        count: 212,
        preemptions: 2,
        thread: 'vmm',
      },
      {
        invariant: 'EXPECT',
        message: "guest: load(map=gm, offset=0) returned ok, expected sigbus (it's a race)",
        schedule: "a12c5b20c3:0b7d'11aa",
        kind: 'expect',
        count: 37,
        preemptions: 1,
        thread: hostile ? `guest${QUOTES}${PWN_SCRIPT}` : 'guest',
      },
    ],
    file: FILE,
    designOptions: { step: 5, revokeCheckLock: hostile ? QUOTES : 'memory_lock', waitForImporters: true },
    strategy: 'dpor',
    blocked: 311,
    deadlocks: 0,
    events: 731224,
    maxDepth: 96,
    elapsedMs: 4210,
    expected: [],
    reasons: ['MAPPING_AFTER_REVOKE found, not expected', 'EXPECT found, not expected'],
  };
}

export function makeCompare(): CompareReport {
  const ids = ['MAPPING_AFTER_REVOKE', 'MMIO_WHILE_DISABLED', 'HUGE_LEAF', 'EXPECT'];
  return {
    scenario: 'revoke races a fault',
    invariants: ids,
    results: [
      {
        design: 'upstream',
        executions: 9120,
        complete: true,
        violations: [],
        counts: {},
        shortest: {},
        verdict: 'pass',
        elapsedMs: 1830,
      },
      {
        design: 'dmabuf-backed',
        executions: 18423,
        complete: true,
        violations: ['MAPPING_AFTER_REVOKE', 'EXPECT'],
        counts: { MAPPING_AFTER_REVOKE: 212, EXPECT: 37 },
        shortest: {
          MAPPING_AFTER_REVOKE: {
            schedule: 'a4b2a5b{1}a3b10c3b4c3a3b:5e1f0c2a',
            events: 42,
            message: `PMD 0x7f00c0000000 still maps a revoked range ${QUOTES}`,
          },
          EXPECT: {
            schedule: 'a12c5b20c3:0b7d11aa',
            events: 40,
            message: 'guest: load returned ok, expected sigbus',
          },
        },
        verdict: 'fail',
        elapsedMs: 4210,
      },
      {
        design: 'v6.12',
        executions: 0,
        complete: false,
        violations: [],
        counts: {},
        shortest: {},
        verdict: 'fail',
        elapsedMs: 3,
        error: 'v6.12 has no dma-buf export: export returns ENOTTY',
      },
    ],
  };
}

export function makeInput(opts: FixtureOptions & { compare?: boolean } = {}): HtmlReportInput {
  const record = makeRecord(opts);
  const input: HtmlReportInput = {
    title: record.scenario.name,
    file: FILE,
    source: record.scenario.source,
    check: makeCheck(opts),
    record,
  };
  if (opts.compare) input.compare = makeCompare();
  return input;
}
