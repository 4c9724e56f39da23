// A machine's `lockChains`: lock dependencies the rest of the kernel makes, named by lockdep class,
// that lockdep takes as observed. A cycle through them and the scenario's own dependencies is a
// LOCK_ORDER violation; a cycle of declared dependencies alone is not the scenario's.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

/** A fault on a BAR mapping (mmap_lock -> memory_lock), on a machine with these chains. */
function lockOrder(chains: string): { ids: string[]; message: string } {
  const text = `name: chains
machine: { arch: x86_64, thp: always, lockChains: ${chains} }
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - mmap: { fd: dev, region: 0, offset: 0, length: 16K, as: m }
threads:
  vmm:
    - load: { map: m, offset: 0 }
expect: { violations: [] }
`;
  const r = checkScenario(parseScenario(text, 'chains.yaml'));
  return {
    ids: [...new Set(r.violations.map((v) => v.invariant))],
    message: r.violations.map((v) => v.message).join('\n'),
  };
}

describe('machine.lockChains', () => {
  test('a declared chain from memory_lock back to mmap_lock closes the fault path into a cycle', () => {
    const r = lockOrder(`[ ['&vdev->memory_lock', '&group->mutex', '&mm->mmap_lock'] ]`);
    assert.deepEqual(r.ids, ['LOCK_ORDER']);
    // `&group->mutex` is the model's own class now (the ATS reset takes it): the message names it so.
    assert.match(r.message, /group->mutex -> mmap_lock -> memory_lock -> group->mutex/);
    assert.match(r.message, /memory_lock -> group->mutex: a dependency declared as made elsewhere/);
    assert.match(r.message, /vmm acquires memory_lock \(read\) while holding mmap_lock \(read\)/);
  });

  test('the same chain the other way round makes no cycle; nor does a cycle of declared edges alone', () => {
    assert.deepEqual(lockOrder(`[ ['&mm->mmap_lock', '&group->mutex', '&vdev->memory_lock'] ]`).ids, []);
    assert.deepEqual(lockOrder(`[ ['cpu_hotplug_lock', '&group->mutex', 'cpu_hotplug_lock'] ]`).ids, []);
  });

  test('a chain must name two classes at least (file, line and field in the error)', () => {
    assert.throws(
      () => lockOrder(`[ ['&mm->mmap_lock'] ]`),
      /chains\.yaml:2:.*machine\.lockChains\[0\]: a chain names at least two/,
    );
  });
});
