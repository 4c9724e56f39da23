// fdget() on a shared fd table: when two or more threads of a process share its table (and one of
// them closes fds), a syscall's lookup takes a real reference (__fget_files()) that it drops as it returns (fdput()), and dup()
// and SCM_RIGHTS take theirs with fget_raw(); so another thread's close of the same fd never frees
// the file under the syscall. The hunter (vdm hunt) found the model without this: a `send` racing a
// `close` reported USE_AFTER_FREE that the kernel cannot have.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkScenario, runScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

const DEV = `devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
`;

function check(threads: string, design = 'upstream') {
  const text = `name: fdget shared\n${DEV}design: ${design}\nsetup:\n  - open: { device: gpu0, as: fd }\nthreads:\n${threads}`;
  return checkScenario(parseScenario(text, 'fdget-shared.yaml'), { strategy: 'exhaustive' });
}

describe('fdget() on a shared fd table', () => {
  for (const [what, op] of [
    ['send (SCM_RIGHTS)', 'send: { fd: fd, to: main, as: copy }'],
    ['dup', 'dup: { fd: fd, as: copy }'],
    ['a device ioctl', 'reset: { fd: fd }'],
    ['an mmap', 'mmap: { fd: fd, region: 0, length: 4K, as: m }'],
  ] as const) {
    test(`${what} racing a close of the same fd in another thread frees nothing under it`, () => {
      const r = check(`  a:\n    - ${op}\n  b:\n    - close: { fd: fd }\n`);
      assert.ok(r.complete);
      assert.deepEqual(
        r.violations.map((v) => `${v.invariant}: ${v.message}`),
        [],
      );
      assert.ok(r.executions > 1, 'the two threads race');
    });
  }

  test('a syscall in a process of two threads, one of which closes fds, takes a reference and drops it as it returns', () => {
    const text = `name: shared\n${DEV}setup:\n  - open: { device: gpu0, as: fd }\n  - open: { device: gpu0, as: other }\nthreads:\n  a:\n    - reset: { fd: fd }\n  b:\n    - close: { fd: other }\n`;
    const rec = runScenario(parseScenario(text, 'shared.yaml'));
    const a = rec.steps.filter((s) => s.thread === 'a' && s.object === 'gpu0.fd.f_count');
    assert.deepEqual(
      a.map((s) => `${s.op} ${s.stack.at(-2) ?? ''}>${s.stack.at(-1)}`),
      ['rmw __fget_files>file_ref_get', 'rmw fdput>fput'],
    );
  });

  test('without a close in another thread, the file is borrowed (the reference could change no outcome)', () => {
    const text = `name: no close\n${DEV}setup:\n  - open: { device: gpu0, as: fd }\nthreads:\n  a:\n    - reset: { fd: fd }\n  b:\n    - pm_exit: { fd: fd }\n`;
    const rec = runScenario(parseScenario(text, 'no-close.yaml'));
    assert.equal(rec.steps.filter((s) => s.object === 'gpu0.fd.f_count').length, 0);
  });

  test('a process of one thread borrows the file: one read of the fd table, no count change', () => {
    const text = `name: alone\n${DEV}setup:\n  - open: { device: gpu0, as: fd }\nthreads:\n  a:\n    - reset: { fd: fd }\n`;
    const rec = runScenario(parseScenario(text, 'alone.yaml'));
    const a = rec.steps.filter((s) => s.thread === 'a');
    assert.equal(a.filter((s) => s.object === 'gpu0.fd.f_count').length, 0);
    assert.equal(a.filter((s) => s.object === 'main.fdtable').length, 1);
  });
});
