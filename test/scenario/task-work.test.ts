// Task work is per execution. The explorer runs execution after execution on one host; a thread
// that died of a violation after putting a file's last reference, before its return to user space
// ran the release, left that release queued — and the next execution's thread of the same number
// ran it, so a replayed prefix did something else than the first run ("the model must be
// deterministic"). vdm hunt found the program below (shrunk) on v5.7.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

const FOUND = `name: task work left by a dead thread
machine: { arch: x86_64, thp: madvise }
devices:
  - name: gpu0
    bars: [ { index: 0, size: 64K, phys: 0x3800000000 }, { index: 2, size: 4M, phys: 0x3840000000 } ]
design: v5.7
setup:
  - open: { device: gpu0, as: fd1 }
  - mmap: { fd: fd1, offset: 4M, length: 64K, at: 0x7f0000200000, as: m5 }
threads:
  t0:
    - import: { fd: fd1, as: imp2, revocable: true, ignoresMove: false }
  t1:
    - close: { fd: fd1 }
  t2:
    - open: { device: gpu0, as: fd7 }
    - direct_io: { map: m5, offset: 0, length: 4M }
  t3:
    - close: { fd: fd1 }
    - store: { map: m5, offset: 0 }
    - dup: { fd: fd1, as: fd6 }
`;

test('a release queued by a thread that died is not run by the next execution', () => {
  const r = checkScenario(parseScenario(FOUND, 'task-work.yaml'), { maxExecutions: 300 });
  assert.ok(r.executions > 0);
  assert.deepEqual(
    r.violations.filter((v) => v.invariant === 'ERROR').map((v) => v.message),
    [],
  );
});
