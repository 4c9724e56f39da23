// The ftrace-style text trace: header, TASK-PID/CPU columns, timestamps, funcgraph nesting, marks.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatFtrace } from '../../src/report/ftrace.js';
import type { RunRecord } from '../../src/report/record.js';
import { MARKS, STEPS, traceFixture } from './trace-fixture.js';

interface Line {
  raw: string;
  task: string;
  pid: number;
  cpu: string;
  /** Microseconds. */
  us: number;
  event: string;
  body: string;
  /** Column of the `[CPU]` field, to check alignment. */
  cpuCol: number;
}

const LINE = /^ *(\S+)-(\d+) {2}\[(\d{3})\] +(\d+)\.(\d{6}): (\w+): (.*)$/;

function parse(text: string): { header: string[]; lines: Line[] } {
  const all = text.split('\n').filter((l) => l !== '');
  const header = all.filter((l) => l.startsWith('#'));
  const lines = all
    .filter((l) => !l.startsWith('#'))
    .map((raw) => {
      const m = LINE.exec(raw);
      assert.ok(m, `unparsable line: ${raw}`);
      return {
        raw,
        task: m[1]!,
        pid: Number(m[2]),
        cpu: m[3]!,
        us: Number(m[4]) * 1e6 + Number(m[5]),
        event: m[6]!,
        body: m[7]!,
        cpuCol: raw.indexOf('['),
      };
    });
  return { header, lines };
}

const STEP_EVENTS = new Set([
  'read',
  'write',
  'rmw',
  'mutex_lock',
  'mutex_unlock',
  'mutex_trylock',
  'down_read',
  'up_read',
  'down_write',
  'down_write_wait',
  'up_write',
  'wait_for_completion',
  'complete',
]);

test('the header names the tracer, scenario, design and schedule, then the column titles', () => {
  const r = traceFixture();
  const { header } = parse(formatFtrace(r));
  assert.equal(
    header[0],
    `# tracer: vdm  scenario: reset-vs-fault  design: zap-misses-pte  schedule: ${r.schedule}`,
  );
  const cols = header.find((h) => h.includes('TASK-PID'));
  assert.ok(cols);
  assert.match(cols, /TASK-PID +CPU# +TIMESTAMP +FUNCTION/);
  assert.ok(header.some((h) => /^# +\| \| +\| +\| +\|$/.test(h)));
  // Column titles sit over their columns.
  const { lines } = parse(formatFtrace(r));
  assert.equal(cols.indexOf('CPU#'), lines[0]!.cpuCol);
  assert.equal(cols.indexOf('TASK-PID') + 'TASK-PID'.length, lines[0]!.raw.indexOf('-') + 2);
});

test('pids follow first appearance, setup is 0, cpu is pid-1, and the columns align', () => {
  const { lines } = parse(formatFtrace(traceFixture()));
  const pids = new Map<string, number>();
  for (const l of lines) {
    if (pids.has(l.task)) assert.equal(pids.get(l.task), l.pid, l.raw);
    else pids.set(l.task, l.pid);
    assert.equal(l.cpu, String(Math.max(0, l.pid - 1)).padStart(3, '0'), l.raw);
  }
  assert.deepEqual(
    [...pids],
    [
      ['setup', 0],
      ['vmm', 1],
      ['admin', 2],
      ['guest', 3],
    ],
  );
  assert.equal(new Set(lines.map((l) => l.cpuCol)).size, 1, 'TASK-PID is padded to one width');
  assert.equal(new Set(lines.map((l) => l.raw.indexOf(': '))).size, 1, 'timestamps are padded to one width');
});

test('every event appears once, in order, at (index + 1) µs, with its fields', () => {
  const { lines } = parse(formatFtrace(traceFixture()));
  const events = lines.filter((l) => STEP_EVENTS.has(l.event));
  assert.equal(events.length, STEPS.length);
  events.forEach((l, i) => {
    assert.equal(l.us, i + 1, l.raw);
    assert.equal(l.task, STEPS[i]!.thread);
  });
  // Timestamps never go back.
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i]!.us >= lines[i - 1]!.us, lines[i]!.raw);
  // Spelling and fields.
  const at = (i: number) => events[i]!.raw.slice(events[i]!.raw.indexOf(': ') + 2);
  assert.equal(at(0), 'down_read: lock=mm.vmm.mmap_lock');
  assert.equal(at(1), 'mutex_lock: lock=dmabuf.gpu0.dmabuf1.resv');
  assert.equal(at(2), 'read: obj=pte.vmm.0x7f0000001000 = 0x0');
  assert.equal(at(5), 'down_write: lock=vdev.gpu0.memory_lock = queued');
  assert.equal(at(7), 'mutex_unlock: lock=dmabuf.gpu0.dmabuf1.resv');
  assert.equal(at(8), 'write: obj=pte.vmm.0x7f0000001000 = 0x3800001');
  assert.equal(at(10), 'down_write_wait: lock=vdev.gpu0.memory_lock');
  assert.equal(at(25), 'complete: completion=dmabuf.gpu0.dmabuf1.comp');
  assert.equal(at(26), 'wait_for_completion: completion=dmabuf.gpu0.dmabuf1.comp');
  assert.equal(at(27), 'up_write: lock=vdev.gpu0.memory_lock');
  assert.equal(at(35), 'mutex_trylock: lock=dmabuf.gpu0.dmabuf1.resv = true');
});

test('funcgraph entries and exits balance and nest per thread, indented by depth', () => {
  const { lines } = parse(formatFtrace(traceFixture()));
  const stacks = new Map<string, string[]>();
  const entries = new Map<string, number>();
  for (const l of lines) {
    const st = stacks.get(l.task) ?? [];
    stacks.set(l.task, st);
    if (l.event === 'funcgraph_entry') {
      const m = /^( *)(\w+)\(\) \{$/.exec(l.body);
      assert.ok(m, l.raw);
      assert.equal(m[1]!.length, 2 * st.length, `indent of ${l.raw}`);
      st.push(m[2]!);
      entries.set(l.task, (entries.get(l.task) ?? 0) + 1);
    } else if (l.event === 'funcgraph_exit') {
      const m = /^( *)\} \/\* (\w+)(, unfinished)? \*\/$/.exec(l.body);
      assert.ok(m, l.raw);
      assert.equal(st.pop(), m[2], `exit matches the innermost entry: ${l.raw}`);
      assert.equal(m[1]!.length, 2 * st.length, `indent of ${l.raw}`);
    } else if (STEP_EVENTS.has(l.event)) {
      // The open functions are the event's stack (without the op: frame).
      const step = STEPS[l.us - 1]!;
      assert.deepEqual(
        st,
        step.stack.filter((f) => !f.startsWith('op:')),
        `stack at ${l.raw}`,
      );
    }
  }
  for (const [task, st] of stacks) assert.deepEqual(st, [], `${task} ends with no open function`);
  for (const t of ['vmm', 'admin', 'guest']) assert.ok((entries.get(t) ?? 0) >= 3, t);
});

test('functions return before their operation ends, and the operation ends before the next begins', () => {
  const { lines } = parse(formatFtrace(traceFixture()));
  const open = new Map<string, number>();
  const inOp = new Map<string, string | undefined>();
  for (const l of lines) {
    const depth = open.get(l.task) ?? 0;
    if (l.event === 'funcgraph_entry') open.set(l.task, depth + 1);
    if (l.event === 'funcgraph_exit') open.set(l.task, depth - 1);
    if (l.event === 'op_begin') {
      assert.equal(inOp.get(l.task), undefined, l.raw);
      assert.equal(depth, 0, l.raw);
      inOp.set(l.task, l.body.split(' ')[0]);
    }
    if (l.event === 'op_end') {
      assert.equal(depth, 0, `no function still open at ${l.raw}`);
      assert.equal(inOp.get(l.task), l.body.split(' ')[0], l.raw);
      inOp.set(l.task, undefined);
    }
  }
});

test('op_begin shows the arguments and op_end the outcome', () => {
  const { lines } = parse(formatFtrace(traceFixture()));
  const ops = (task: string, ev: string) =>
    lines.filter((l) => l.task === task && l.event === ev).map((l) => l.body);
  assert.deepEqual(ops('vmm', 'op_begin'), [
    'load map=bar0 offset=0x1000',
    'load map=bar0 offset=0x2000',
    'munmap map=bar0',
  ]);
  assert.deepEqual(ops('vmm', 'op_end'), ['load = ok', 'load = sigbus expected=sigbus', 'munmap = ok']);
  assert.deepEqual(ops('admin', 'op_end'), ['reset = ok', 'mmio_read = -EIO expected=-EIO']);
  assert.deepEqual(ops('guest', 'op_end'), [
    'dma_map = ok expected=ok',
    'dma_unmap = ok',
    'dma_map = -ENODEV expected=-ENODEV',
  ]);
  assert.deepEqual(ops('setup', 'op_begin'), ['mmap bar=0 len=0x400000 populate=1']);
  assert.deepEqual(ops('setup', 'op_end'), ['mmap = ok']);
  // vmm's first load ends right after its last event (11), at that event's timestamp.
  const end = lines.find((l) => l.task === 'vmm' && l.event === 'op_end')!;
  assert.equal(end.us, 12);
});

test('marks are rendered at the timestamp of the event after which they happen', () => {
  const { lines } = parse(formatFtrace(traceFixture()));
  const find = (event: string, task: string, us: number) =>
    lines.find((l) => l.event === event && l.task === task && l.us === us);
  assert.equal(find('pmd_set', 'setup', 0)?.body, 'mm=vmm va=0x7f0000200000 pfn=0x3800200 level=pmd');
  assert.equal(find('pte_set', 'vmm', 9)?.body, 'mm=vmm va=0x7f0000001000 pfn=0x3800001 level=pte');
  assert.equal(find('pmd_clear', 'admin', 14)?.body, 'mm=vmm va=0x7f0000200000 pfn=0x3800200 level=pmd');
  assert.equal(find('pte_clear', 'vmm', 41)?.body, 'mm=vmm va=0x7f0000001000 pfn=0x3800001 level=pte');
  assert.equal(find('dma_buf_revoke', 'admin', 19)?.body, 'dmabuf=gpu0.dmabuf1 state=revoked');
  assert.equal(
    find('violation', 'admin', 28)?.body,
    'MAPPING_AFTER_REVOKE: vmm still maps gpu0 BAR0 at 0x7f0000001000 (pfn 0x3800001) after reset returned id=v1',
  );
  // Every mark: right after the event it follows (the line before it at that time is that event or
  // another mark / function exit of the same slot), never before.
  const names: Record<string, (d: Record<string, unknown>) => string> = {
    'op-begin': () => 'op_begin',
    'op-end': () => 'op_end',
    'leaf-set': (d) => `${d.level}_set`,
    'leaf-clear': (d) => `${d.level}_clear`,
    revoke: () => 'dma_buf_revoke',
    violation: () => 'violation',
  };
  for (const m of MARKS) {
    const ev = names[m.kind]!(m.data);
    const hit = lines.filter((l) => l.event === ev && l.task === m.thread && l.us === m.after);
    assert.ok(hit.length >= 1, `${m.kind} after ${m.after} by ${m.thread}`);
    const i = lines.indexOf(hit[0]!);
    if (m.after > 0) {
      const step = lines.findIndex((l) => STEP_EVENTS.has(l.event) && l.us === m.after);
      assert.ok(step >= 0 && step < i, `${m.kind} after ${m.after} comes after event ${m.after - 1}`);
    }
  }
});

test('functions: false drops the funcgraph lines and names the innermost function on each event', () => {
  const r = traceFixture();
  const { lines } = parse(formatFtrace(r, { functions: false }));
  assert.ok(lines.every((l) => l.event !== 'funcgraph_entry' && l.event !== 'funcgraph_exit'));
  const events = lines.filter((l) => STEP_EVENTS.has(l.event));
  assert.equal(events.length, STEPS.length);
  for (const [i, l] of events.entries()) assert.ok(l.body.endsWith(` func=${STEPS[i]!.stack.at(-1)}`), l.raw);
  assert.equal(events[8]!.body, 'obj=pte.vmm.0x7f0000001000 = 0x3800001 func=insert_pfn');
  // Marks and operations are still there.
  const full = parse(formatFtrace(r)).lines.filter((l) => !l.event.startsWith('funcgraph'));
  assert.deepEqual(
    lines.map((l) => [l.event, l.us]),
    full.map((l) => [l.event, l.us]),
  );
  assert.ok(formatFtrace(r, { functions: true }).includes('funcgraph_entry: do_user_addr_fault() {'));
});

test('deterministic, and the input is not modified', () => {
  const r = traceFixture();
  const before = JSON.stringify(r);
  assert.equal(formatFtrace(r), formatFtrace(traceFixture()));
  assert.equal(JSON.stringify(r), before);
});

test('without marks, operation frames come from the stacks; an operation left unfinished is closed at the end', () => {
  const r: RunRecord = {
    ...traceFixture(),
    violations: [],
    // b's operation begins but never ends: the execution stopped with b blocked on m.
    marks: [{ after: 0, thread: 'b', kind: 'op-begin', text: 'b: close', data: { op: 'close' } }],
    steps: [
      { index: 0, thread: 'a', op: 'lock', object: 'm', stack: ['op:open', 'vfio_pci_core_open'] },
      {
        index: 1,
        thread: 'b',
        op: 'read',
        object: 'y',
        result: '0',
        stack: ['op:close', 'vfio_pci_core_close'],
      },
      {
        index: 2,
        thread: 'a',
        op: 'read',
        object: 'x',
        result: '1',
        stack: ['op:open', 'vfio_pci_core_open', 'f', 'g'],
      },
      { index: 3, thread: 'a', op: 'unlock', object: 'm', stack: ['op:open', 'vfio_pci_core_open'] },
    ],
  };
  const { lines } = parse(formatFtrace(r));
  const of = (t: string) => lines.filter((l) => l.task === t).map((l) => `${l.us} ${l.event}: ${l.body}`);
  assert.deepEqual(of('a'), [
    '0 op_begin: open',
    '0 funcgraph_entry: vfio_pci_core_open() {',
    '1 mutex_lock: lock=m',
    '2 funcgraph_entry:   f() {',
    '2 funcgraph_entry:     g() {',
    '3 read: obj=x = 1',
    '3 funcgraph_exit:     } /* g */',
    '3 funcgraph_exit:   } /* f */',
    '4 mutex_unlock: lock=m',
    '4 funcgraph_exit: } /* vfio_pci_core_open */',
    '4 op_end: open',
  ]);
  assert.deepEqual(of('b'), [
    '0 op_begin: close',
    '1 funcgraph_entry: vfio_pci_core_close() {',
    '2 read: obj=y = 0',
    '2 funcgraph_exit: } /* vfio_pci_core_close */',
    '4 op_end: close = unfinished',
  ]);
  assert.equal(lines.find((l) => l.task === 'b')!.pid, 1, 'b appears first (its op-begin)');
  assert.equal(lines.find((l) => l.task === 'a')!.pid, 2);
});
