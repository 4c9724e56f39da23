// dmabuf-backed `exportLock`: the buffer an mmap makes is listed under memory_lock (v1-v5 as
// posted: mmap_lock -> memory_lock for write) or under the device's dmabuf_lock (the change after
// v5), which the revoke path takes inside memory_lock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { kernelLockName } from '../../src/kernel/lock-classes.js';
import { checkExploreOptions, checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { exploreLockGraph } from '../../src/sched/explore.js';

const TEXT = `name: mmap makes a dma-buf
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
design: dmabuf-backed
setup:
  - open: { device: gpu0, as: dev }
threads:
  vmm:
    - mmap: { fd: dev, region: 0, offset: 0, length: 4K, as: m, expect: ok }
    - load: { map: m, expect: ok }
    - command: { fd: dev, memory: false, expect: ok }
    - load: { map: m, expect: sigbus }
    - command: { fd: dev, memory: true, expect: ok }
    - mmap: { fd: dev, region: 0, offset: 0, length: 4K, as: m2, expect: ok }
    - load: { map: m2, expect: ok }
check: { strategy: dpor }
`;

/** The dependencies (kernel names, with modes) one run of the scenario makes on an exportLock. */
function edges(exportLock: 'memory_lock' | 'none'): Set<string> {
  const sc = parseScenario(TEXT, 'export-lock.yaml');
  const design = designOf('dmabuf-backed', { exportLock });
  const g = exploreLockGraph(scenarioProgram(sc, { design }), checkExploreOptions(sc));
  return new Set(
    g.dependencies
      .filter((d) => !d.thread.startsWith('(declared'))
      .map((d) => `${kernelLockName(d.from)}(${d.fromMode}) -> ${kernelLockName(d.to)}(${d.toMode})`),
  );
}

describe('dmabuf-backed exportLock', () => {
  test('memory_lock: the mmap lists its buffer under memory_lock, inside mmap_lock held for write', () => {
    const e = edges('memory_lock');
    assert.ok(e.has('&mm->mmap_lock(write) -> &vdev->memory_lock(write)'), [...e].join('\n'));
    assert.ok(![...e].some((x) => x.includes('dmabuf_lock')));
  });

  test('none: the mmap takes only dmabuf_lock; the revoke takes it inside memory_lock', () => {
    const e = edges('none');
    assert.ok(e.has('&mm->mmap_lock(write) -> &vdev->dmabuf_lock(lock)'), [...e].join('\n'));
    assert.ok(e.has('&vdev->memory_lock(write) -> &vdev->dmabuf_lock(lock)'));
    assert.ok(!e.has('&mm->mmap_lock(write) -> &vdev->memory_lock(write)'));
  });

  test('either way a buffer made while memory is off starts revoked: the sequence keeps its outcomes', () => {
    for (const exportLock of ['memory_lock', 'none'] as const) {
      const sc = parseScenario(TEXT, 'export-lock.yaml');
      const r = checkScenario(sc, { design: designOf('dmabuf-backed', { exportLock }) });
      assert.deepEqual(r.violations, [], exportLock);
    }
    const offText = TEXT.replace(
      '    - command: { fd: dev, memory: true, expect: ok }\n    - mmap: { fd: dev, region: 0, offset: 0, length: 4K, as: m2, expect: ok }\n    - load: { map: m2, expect: ok }',
      '    - mmap: { fd: dev, region: 0, offset: 0, length: 4K, as: m2, expect: ok }\n    - load: { map: m2, expect: sigbus }',
    );
    assert.notEqual(offText, TEXT);
    const off = parseScenario(offText, 'export-lock-off.yaml');
    for (const exportLock of ['memory_lock', 'none'] as const) {
      const r = checkScenario(off, { design: designOf('dmabuf-backed', { exportLock }) });
      assert.deepEqual(r.violations, [], exportLock);
    }
  });

  test('with nvgrace-gpu: memory_lock (v1-v5) deadlocks an mmap against a read whose copy faults; none does not', () => {
    const sc = loadScenarioFile('examples/proposal-v5-export-lock-deadlock.yaml');
    const ids = (exportLock: 'memory_lock' | 'none') => {
      const r = checkScenario(sc, { design: designOf('dmabuf-backed', { exportLock }) });
      assert.equal(r.complete, true);
      return [...new Set(r.violations.map((v) => v.invariant))].sort();
    };
    assert.deepEqual(ids('memory_lock'), ['DEADLOCK', 'LOCK_ORDER']);
    // nvgrace-gpu's own copy under memory_lock stays a lock-order inversion (docs/findings.md #6).
    assert.deepEqual(ids('none'), ['LOCK_ORDER']);
  });
});
