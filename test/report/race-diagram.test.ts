// The race diagram (src/report/race-diagram.ts, docs/report.md "The race diagram"): for every
// example with a counterexample on its own design, a diagram that fits a mail (72 columns, ASCII,
// no tabs, no trailing spaces), names the violation, has a column for each task it is about, and
// ends with a replay command that replays the same violation; and, on known races, the events it
// keeps and leaves out.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DesignOptions, designOf } from '../../src/designs/design.js';
import { formatRaceDiagram } from '../../src/report/race-diagram.js';
import type { RunRecord, TraceStep } from '../../src/report/record.js';
import { checkScenario, expectedOn, recordScenario, runScenario } from '../../src/scenario/check.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';

const EXAMPLES = join(fileURLToPath(new URL('.', import.meta.url)), '../../../examples');
const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Width, ASCII, tabs and trailing spaces: what a commit message or a mail keeps. */
function assertMailSafe(text: string, width = 72): void {
  for (const [n, line] of text.split('\n').entries()) {
    assert.ok(line.length <= width, `line ${n + 1} is ${line.length} wide:\n${line}\n\n${text}`);
    assert.match(line, /^[\x20-\x7e]*$/, `line ${n + 1} is not printable ASCII: ${JSON.stringify(line)}`);
    assert.doesNotMatch(line, / $/, `line ${n + 1} ends in a space: ${JSON.stringify(line)}`);
  }
}

/** The replay command at the diagram's end, continuation lines joined as the shell joins them. */
function replayOf(text: string): {
  file: string;
  design?: string;
  options: Record<string, unknown>;
  schedule: string;
} {
  // As the shell reads it: backslash-newline joins lines, quotes are removed.
  const tail = text
    .slice(text.lastIndexOf('\nreplay: ') + 9)
    .replace(/\\\n/g, '')
    .replace(/'/g, '')
    .replace(/ +/g, ' ');
  const m = /vdm replay (\S+)(.*?) --schedule (\S+)/.exec(tail);
  assert.ok(m, `no replay command in\n${text}`);
  const options: Record<string, unknown> = {};
  for (const o of m[2]!.matchAll(/--option (\w+)=(\S+)/g)) {
    const raw = o[2]!;
    options[o[1]!] = raw === 'true' ? true : raw === 'false' ? false : /^\d+$/.test(raw) ? Number(raw) : raw;
  }
  const design = /--design (\S+)/.exec(m[2]!)?.[1];
  return { file: m[1]!, ...(design ? { design } : {}), options, schedule: m[3]! };
}

/** The diagram part (before the first blank line) and the column each task's header starts at. */
function columns(text: string): { lines: string[]; starts: Map<string, number> } {
  const lines = text.slice(0, text.indexOf('\n\n')).split('\n');
  const starts = new Map<string, number>();
  for (const m of lines[0]!.matchAll(/CPU\d+ \((\S+)\)|\bsetup\b/g)) starts.set(m[1] ?? 'setup', m.index!);
  return { lines, starts };
}

/** The task whose column a line of the diagram starts in. */
function taskOf(line: string, starts: Map<string, number>): string | undefined {
  const at = line.length - line.trimStart().length;
  let best: string | undefined;
  let bestStart = -1;
  for (const [t, s] of starts) if (s <= at && s > bestStart) [best, bestStart] = [t, s];
  return best;
}

describe('every example with a counterexample on its own design', () => {
  const files = readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  for (const f of files) {
    const sc = loadScenarioFile(join(EXAMPLES, f));
    if (expectedOn(sc, sc.design.name).length === 0) continue;
    test(f, () => {
      const r = checkScenario(sc, { stopAtFirst: true, maxExecutions: 5000 });
      assert.ok(r.violations.length > 0, `${f}: no counterexample found`);
      const drawn = new Set<string>();
      for (const v of r.violations) {
        if (drawn.has(v.invariant)) continue;
        drawn.add(v.invariant);
        const rec = recordScenario(sc, v.schedule);
        const text = formatRaceDiagram(rec, { violation: { id: v.invariant, message: v.message } });
        const where = `${f} ${v.invariant}:\n${text}`;
        assertMailSafe(text);
        assert.ok(text.includes(`\n${v.invariant}: `), `the invariant is not named: ${where}`);
        const replay = replayOf(text);
        assert.equal(replay.file, sc.file);
        assert.equal(replay.schedule, v.schedule);
        const again = recordScenario(sc, replay.schedule, {
          design: designOf(replay.design ?? sc.design.name, replay.options as Partial<DesignOptions>),
        });
        assert.equal(again.replayError, undefined, where);
        assert.deepEqual(again.design, rec.design, `the replay command runs another design: ${where}`);
        if (rec.steps.length === 0) {
          // Found in the state the setup leaves (no event to replay): said, not drawn; the replay
          // of the empty schedule shows it.
          assert.ok(
            again.violations.some((x) => x.id === v.invariant),
            `replay: ${where}`,
          );
          assert.match(text, /^no race to draw: the setup alone/, where);
          continue;
        }
        assert.ok(
          again.violations.some((x) => x.id === v.invariant),
          `the replay command does not replay ${v.invariant}: ${where}`,
        );
        assert.ok(text.includes(`<- ${v.invariant}`), `the violating event is not marked: ${where}`);
        // A column for the task that raised it and each task its message names (`cpu (vmm)`,
        // `vmm waits ...`), and at least one event under each column.
        const threads = new Set(rec.steps.map((s) => s.thread));
        const { lines } = columns(text);
        // (A lock-order cycle is lockdep's, over the whole search: this execution may make only
        // some of its edges, and the diagram says which it does not.)
        const named = [...threads].filter(
          (t) =>
            v.thread === t ||
            (v.kind !== 'lock-order' &&
              (v.message.includes(`(${t})`) || new RegExp(`(^|[ ;:])${t} waits`).test(v.message))),
        );
        const header = lines.slice(0, 4).join('\n');
        for (const t of named) assert.ok(header.includes(`(${t})`), `no column for ${t}: ${where}`);
        assert.ok(/CPU\d+ \(/.test(header), `no column at all: ${where}`);
      }
    });
  }
});

describe('known races', () => {
  test('reset-races-fault on v5.7: the reset zaps nothing and the load reads the BAR in reset', () => {
    const sc = loadScenarioFile(join(EXAMPLES, 'reset-races-fault.yaml'));
    const design = designOf('v5.7');
    const r = checkScenario(sc, { design, stopAtFirst: true });
    const v = r.violations.find((x) => x.invariant === 'MMIO_WHILE_DISABLED');
    assert.ok(v);
    const text = formatRaceDiagram(recordScenario(sc, v.schedule, { design }), {
      violation: 'MMIO_WHILE_DISABLED',
      designArgs: '--design v5.7',
    });
    const { lines, starts } = columns(text);
    assert.deepEqual([...starts.keys()], ['vmm', 'admin']);
    const of = (needle: string) => {
      const l = lines.find((x) => x.includes(needle));
      assert.ok(l, `${needle} not in\n${text}`);
      return taskOf(l, starts);
    };
    // The racing pair: the reset's write of the device state, the load's read of it.
    assert.equal(of('pcie_flr()'), 'admin');
    assert.equal(of('rmw gpu0.hw'), 'admin');
    assert.equal(of('read gpu0.hw'), 'vmm');
    assert.ok(
      lines.indexOf(lines.find((l) => l.includes('rmw gpu0.hw'))!) <
        lines.indexOf(lines.find((l) => l.includes('read gpu0.hw'))!),
    );
    assert.match(text, /<- MMIO_WHILE_DISABLED/);
    // The reset's look-up of its fd and the load's page walk race with nothing: folded.
    assert.doesNotMatch(text, /fdtable|read pte|TLB/);
    assert.match(text, /^ *\.\.\.$/m);
    const replay = replayOf(text);
    assert.equal(replay.design, 'v5.7');
    assert.equal(replay.schedule, v.schedule);
  });

  test('a task that takes no part gets no column, and its events are not drawn', () => {
    const sc = parseScenario(
      `name: reset races a fault, with a bystander
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
  - name: gpu1
    bars: [ { index: 0, size: 16K, phys: 0x3900000000 } ]
design: v5.7
processes: { primary: [vmm, admin], other: [bystander] }
setup:
  - open: { device: gpu0, as: dev }
  - mmap: { fd: dev, region: 0, length: 16K, as: m }
threads:
  vmm:
    - load: { map: m, offset: 0x1000 }
  admin:
    - reset: { fd: dev, expect: ok }
  bystander:
    - open: { device: gpu1, as: dev1 }
    - mmap: { fd: dev1, region: 0, length: 4K, as: m1 }
    - load: { map: m1, offset: 0 }
expect: { violations: [MMIO_WHILE_DISABLED] }
`,
      'bystander.yaml',
    );
    const r = checkScenario(sc, { stopAtFirst: true });
    const v = r.violations.find((x) => x.invariant === 'MMIO_WHILE_DISABLED');
    assert.ok(v);
    // The search never interleaves a process that shares nothing: run the bystander (thread c)
    // to its end first, then the counterexample.
    const n = runScenario(sc).steps.filter((s) => s.thread === 'bystander').length;
    assert.ok(n > 0);
    const rec = recordScenario(sc, `c${n}${v.schedule.split(':')[0]}`);
    assert.equal(rec.replayError, undefined);
    assert.equal(rec.steps.filter((s) => s.thread === 'bystander').length, n);
    assert.ok(rec.violations.some((x) => x.id === 'MMIO_WHILE_DISABLED'));
    const text = formatRaceDiagram(rec);
    assertMailSafe(text);
    const { starts } = columns(text);
    assert.deepEqual([...starts.keys()], ['vmm', 'admin']);
    assert.doesNotMatch(text.slice(0, text.indexOf('\n\n')), /bystander|gpu1/);
  });

  test('v5.8 pread into its own BAR: the deadlock and the recursive read lock', () => {
    const sc = loadScenarioFile(join(EXAMPLES, 'v5.8-pread-lock-order.yaml'));
    const r = checkScenario(sc, { stopAtFirst: true });
    const dl = r.violations.find((x) => x.invariant === 'DEADLOCK');
    const lo = r.violations.find((x) => x.invariant === 'LOCK_ORDER');
    assert.ok(dl && lo);
    const text = formatRaceDiagram(recordScenario(sc, dl.schedule), { violation: 'DEADLOCK' });
    assertMailSafe(text);
    const { lines, starts } = columns(text);
    const line = (re: RegExp) => {
      const l = lines.find((x) => re.test(x));
      assert.ok(l, `${re} not in\n${text}`);
      return l;
    };
    // vmm holds memory_lock for read across the copy (vfio_pci_rw) and waits for vma_lock in the
    // fault; admin holds vma_lock and its down_write of memory_lock is queued behind the reader.
    assert.equal(taskOf(line(/^vfio_pci_rw\(\)$/), starts), 'vmm');
    assert.equal(taskOf(line(/^ {2}down_read\(&vdev->memory_lock\)$/), starts), 'vmm');
    assert.equal(taskOf(line(/mutex_lock\(&vdev->vma_lock\) {2}<- waits <- DEADLOCK$/), starts), 'vmm');
    assert.equal(taskOf(line(/^ +vfio_pci_zap_and_vma_lock\(\)$/), starts), 'admin');
    assert.equal(taskOf(line(/^ +mutex_lock\(&vdev->vma_lock\)$/), starts), 'admin');
    const dw = lines.findIndex((l) => /down_write\(&vdev->memory_lock\)/.test(l));
    assert.equal(taskOf(lines[dw]!, starts), 'admin');
    assert.match(lines.slice(dw, dw + 2).join('\n'), /<- waits <- DEADLOCK/);
    // A deadlock is about locks: the page-table accesses of the fault and the zap are folded.
    assert.doesNotMatch(text, /clear pte|page table/);

    const order = formatRaceDiagram(recordScenario(sc, lo.schedule), { violation: 'LOCK_ORDER' });
    assertMailSafe(order);
    const o = columns(order);
    assert.deepEqual([...o.starts.keys()], ['vmm']);
    assert.match(order, /^vfio_pci_rw\(\)\n {2}down_read\(&vdev->memory_lock\)$/m);
    assert.match(
      order,
      /vfio_pci_mmap_fault\(\)\n {6}mutex_lock\(&vdev->vma_lock\)\n {6}down_read\(&vdev->memory_lock\) {2}<- LOCK_ORDER$/m,
    );
  });

  test('three tasks: staggered lanes, each event under its task, still 72 columns', () => {
    const sc = loadScenarioFile(join(EXAMPLES, 'fork-huge-pmd-vs-command.yaml'));
    const r = checkScenario(sc, { stopAtFirst: true });
    const v = r.violations.find((x) => x.invariant === 'MMIO_WHILE_DISABLED');
    assert.ok(v);
    const text = formatRaceDiagram(recordScenario(sc, v.schedule), { violation: v.invariant });
    assertMailSafe(text);
    const { lines, starts } = columns(text);
    assert.deepEqual([...starts.keys()], ['vmm', 'admin', 'kid']);
    // fork copies the huge PMD it read before the zap cleared it; the child then reads the BAR.
    const at = (re: RegExp) => taskOf(lines.find((l) => re.test(l)) ?? '', starts);
    assert.equal(at(/copy_huge_pmd\(\)/), 'vmm');
    assert.equal(at(/clear pmd 0x7f0000200000/), 'admin');
    assert.equal(at(/read gpu0\.hw/), 'kid');
    assert.ok(
      text.includes('&child->mmap_lock'),
      'two mm instances: the lock says which (the child mm is named for its process)',
    );
  });
});

describe('choosing the events (a record made by hand)', () => {
  const step = (
    index: number,
    thread: string,
    op: string,
    object: string,
    stack: string[],
    result?: string,
  ): TraceStep => ({
    index,
    thread,
    op,
    object,
    stack: ['op:x', ...stack],
    ...(result !== undefined ? { result } : {}),
  });
  // a reads x under memory_lock; b, queued behind it, writes x and then y; c only touches z.
  const steps: TraceStep[] = [
    step(0, 'c', 'read', 'z', ['bystander_fn'], '0'),
    step(1, 'a', 'down_read', 'gpu0.memory_lock', ['reader_fn']),
    step(2, 'a', 'read', 'x', ['reader_fn'], '1'),
    step(3, 'b', 'down_write', 'gpu0.memory_lock', ['writer_fn'], 'queued'),
    step(4, 'c', 'write', 'z', ['bystander_fn']),
    step(5, 'a', 'read', 'w', ['reader_fn'], '7'),
    step(6, 'a', 'up_read', 'gpu0.memory_lock', ['reader_fn']),
    step(7, 'b', 'down_write(wait)', 'gpu0.memory_lock', ['writer_fn']),
    step(8, 'b', 'write', 'x', ['writer_fn', 'inner_fn']),
    step(9, 'b', 'up_write', 'gpu0.memory_lock', ['writer_fn']),
    step(10, 'a', 'read', 'x', ['checker_fn'], '2'),
  ];
  const record: RunRecord = {
    scenario: { name: 'by hand', file: 'hand.yaml', source: 'name: by hand\n' },
    design: { name: 'test-design', options: {} },
    schedule: 'ab',
    steps,
    marks: [{ after: 11, thread: 'a', kind: 'violation', text: 'X', data: { kind: 'invariant', id: 'X' } }],
    memory: { processes: [], devices: [], zapped: [] },
    violations: [{ kind: 'invariant', id: 'X', message: 'a saw x change', thread: 'a' }],
  };

  test('the racing pair, the locks around it, the wait, the violation; nothing of c, the rest folded', () => {
    const text = formatRaceDiagram(record);
    assertMailSafe(text);
    const { lines, starts } = columns(text);
    assert.deepEqual([...starts.keys()], ['a', 'b']);
    const at = (re: RegExp) => {
      const i = lines.findIndex((l) => re.test(l));
      assert.ok(i >= 0, `${re} not in\n${text}`);
      return { i, task: taskOf(lines[i]!, starts) };
    };
    const dw = at(/down_write\(&vdev->memory_lock\)/);
    assert.equal(dw.task, 'b');
    assert.match(lines.slice(dw.i, dw.i + 2).join('\n'), /\) {2}<- waits$|\)\n +<- waits$/);
    assert.deepEqual(at(/write x$/).task, 'b');
    assert.deepEqual(at(/read x = 2 {2}<- X$/).task, 'a');
    assert.deepEqual(at(/^ {2}read x = 1$/).task, 'a');
    assert.deepEqual(at(/up_read\(&vdev->memory_lock\)/).task, 'a');
    // In trace order: a's read, the waiting writer, a's release, b's write, a's second read.
    const order = [/read x = 1/, /down_write/, /up_read/, /write x/, /read x = 2/].map((re) => at(re).i);
    assert.deepEqual(
      order,
      [...order].sort((p, q) => p - q),
    );
    // b's write is in inner_fn, nested under writer_fn; the unrelated read of w is folded.
    assert.match(text, /writer_fn\(\)\n +down_write[^\n]*\n(.*\n)*? +inner_fn\(\)\n +write x/);
    assert.doesNotMatch(text, /read w|\bz\b|bystander_fn/);
    assert.match(text, /^ {2}\.\.\.$/m);
    assert.match(text, /\nX: a saw x change\n/);
  });

  test('narrower widths: staggered lanes, then one tagged line per event', () => {
    // 56: columns would be 27 wide, so lanes (b's 20 further right); 40: lanes would be 4 apart,
    // less than the indentation inside one, so one line per event tagged with its task.
    const lanes = formatRaceDiagram(record, { width: 56 });
    assertMailSafe(lanes, 56);
    assert.match(lanes, /^CPU1 \(a\) {12}CPU2 \(b\)\n/);
    assert.match(lanes, /\n {20}writer_fn\(\)\n {22}down_write\(/);
    assert.match(lanes, /\nchecker_fn\(\)\n {2}read x = 2 {2}<- X\n/);
    const tagged = formatRaceDiagram(record, { width: 40 });
    assertMailSafe(tagged, 40);
    assert.match(tagged, /^tasks: CPU1 \(a\), CPU2 \(b\)\n\n/);
    assert.match(tagged, /\nb \| writer_fn\(\)\nb \| {3}down_write\(/);
    assert.match(tagged, /\na \| {3}read x = 2 {2}<- X\n/);
  });
});

describe('the commands', () => {
  const vdm = (...args: string[]) => {
    const r = spawnSync(process.execPath, [main, ...args], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const reset = join(EXAMPLES, 'reset-races-fault.yaml');

  test('check --report text prints the diagram after the result; --json adds raceDiagrams', () => {
    const t = vdm('check', reset, '--design', 'v5.7', '--report', 'text');
    assert.equal(t.code, 1, t.err);
    const at = t.out.indexOf('race diagram: MMIO_WHILE_DISABLED\n\nCPU0 (vmm)');
    assert.ok(at > t.out.indexOf('verdict: fail'), t.out);
    const replay = replayOf(t.out);
    assert.equal(replay.design, 'v5.7');
    assert.equal(replay.file, reset);
    const j = vdm('check', reset, '--design', 'v5.7', '--report', 'text', '--json');
    const parsed = JSON.parse(j.out) as {
      violations: { invariant: string }[];
      raceDiagrams: Record<string, string>;
    };
    assert.equal(parsed.violations[0]!.invariant, 'MMIO_WHILE_DISABLED');
    assert.deepEqual(Object.keys(parsed.raceDiagrams), ['MMIO_WHILE_DISABLED']);
    assert.ok(t.out.includes(parsed.raceDiagrams.MMIO_WHILE_DISABLED!.trimEnd()));
    assert.equal(vdm('check', reset, '--report', 'pdf').code, 2);
  });

  test('report --format text prints the diagrams; html still needs -o', () => {
    const t = vdm('report', reset, '--design', 'v5.7', '--format', 'text');
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^race diagram: MMIO_WHILE_DISABLED\n\nCPU0 \(vmm\)/);
    const h = vdm('report', reset);
    assert.equal(h.code, 2);
    assert.match(h.err, /-o FILE is needed/);
  });
});

test('the diagram imports nothing from Node or a package (it also runs in a browser)', () => {
  const seen = new Set<string>();
  const outside: string[] = [];
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^;]*?from '([^']+)';/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else outside.push(`${file}: ${spec}`);
    }
  };
  visit(fileURLToPath(new URL('../../src/report/race-diagram.js', import.meta.url)));
  assert.ok(seen.size > 3, `the walk followed ${seen.size} modules`);
  assert.deepEqual(outside, []);
});
