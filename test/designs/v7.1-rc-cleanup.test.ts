// upstream with `cleanupPutsRevoked` (v7.1-rc1..rc3, before c64a647c84f3) against upstream as
// released: the rc cleanup drains a buffer that a revoke already drained (a kref underflow), and
// re-arms only on unrevoke, so a revoke undone before the close leaves nothing to find.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

/** Export a dma-buf, run `ops` on the device fd, close it; on upstream with the given option. */
function found(cleanupPutsRevoked: boolean, ops: string[]): string[] {
  const sc = parseScenario(`
name: cleanup after revoke
machine: { arch: x86_64, thp: always }
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
design: { name: upstream, cleanupPutsRevoked: ${cleanupPutsRevoked} }
setup:
  - open: { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf, expect: ok }
threads:
  vmm:
${[...ops, 'close: { fd: dev, expect: ok }'].map((o) => `    - ${o}`).join('\n')}
check: { strategy: dpor }
`);
  const r = checkScenario(sc);
  assert.equal(r.complete, true);
  return [...new Set(r.violations.map((v) => v.invariant))].sort();
}

const OFF = 'command: { fd: dev, memory: false, expect: ok }';
const ON = 'command: { fd: dev, memory: true, expect: ok }';

describe('v7.1-rc cleanup of a revoked dma-buf (cleanupPutsRevoked)', () => {
  test('memory off, then close: the rc cleanup puts the kref a second time; v7.1 does not', () => {
    assert.deepEqual(found(true, [OFF]), ['REFCOUNT']);
    assert.deepEqual(found(false, [OFF]), []);
  });

  test('a live buffer at close: one put each, on both', () => {
    assert.deepEqual(found(true, []), []);
    assert.deepEqual(found(false, []), []);
  });

  test('memory off then on, then close: the rc unrevoke re-armed the kref, so cleanup balances', () => {
    assert.deepEqual(found(true, [OFF, ON]), []);
    assert.deepEqual(found(false, [OFF, ON]), []);
  });

  test('two revokes in a row (memory off twice): the second finds the buffer revoked and puts nothing', () => {
    assert.deepEqual(found(true, [OFF, OFF]), ['REFCOUNT']);
    assert.deepEqual(found(false, [OFF, OFF]), []);
  });
});
