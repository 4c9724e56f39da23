// RLIMIT_NOFILE (`setrlimit {nofile}`): fds are allocated lowest-free below the limit, as alloc_fd()
// does, and every operation that makes an fd fails with EMFILE at the limit without leaving
// anything half made. The v6.19 export error path (option exportFdErrorUnwindsTwice, fixed by
// e98137f0a874) frees its buffer twice there.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';
import { threadOutcomes } from './helpers/outcomes.js';

const DEV = `devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
  - name: nic0
    bars: [ { index: 0, size: 16K, phys: 0x3900000000 } ]
`;

/** Outcomes of thread t's operations (after a setup that must succeed). */
function outcomes(setup: string[], ops: string[], design = 'upstream'): string[] {
  const text = `name: fd limit\n${DEV}design: ${design}\nsetup:\n${setup.map((o) => `  - ${o}\n`).join('')}threads:\n  t:\n${ops.map((o) => `    - ${o}\n`).join('')}`;
  return threadOutcomes(text, 'fd-limit.yaml');
}

describe('setrlimit(RLIMIT_NOFILE)', () => {
  test('every operation that makes an fd fails with EMFILE at the limit (fds 0-2 are taken)', () => {
    assert.deepEqual(
      outcomes(
        ['open: { device: gpu0, as: dev }', 'setrlimit: { nofile: 4 }'],
        [
          'open: { device: nic0, as: nic }',
          'dup: { fd: dev, as: d2 }',
          'iommufd: { as: ictx }',
          'container: { fds: [dev], as: cont }',
          'export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf }',
        ],
      ),
      ['EMFILE', 'EMFILE', 'EMFILE', 'EMFILE', 'EMFILE'],
    );
  });

  test('a failed open opens nothing: unbinding the device does not wait for a leaked open', () => {
    // vfio_unregister_group_dev() waits until every open of the device is released: an open that
    // got its file before the fd allocation failed, and kept it, would hang the unbind (DEADLOCK).
    const text = `name: open emfile
${DEV}setup:
  - open: { device: nic0, as: nic }
  - setrlimit: { nofile: 4 }
threads:
  t:
    - open: { device: gpu0, as: dev, expect: EMFILE }
    - unbind: { device: gpu0, expect: ok }
    - setrlimit: { nofile: 5 }
    - open: { device: nic0, as: again, expect: ok }
expect: { violations: [] }
`;
    const r = checkScenario(parseScenario(text, 'open-emfile.yaml'));
    assert.deepEqual(r.violations, []);
    assert.equal(r.verdict, 'pass');
  });

  test('fds are reused lowest first: a closed fd frees room under the limit', () => {
    assert.deepEqual(
      outcomes(
        ['open: { device: gpu0, as: dev }', 'open: { device: nic0, as: nic }', 'setrlimit: { nofile: 5 }'],
        [
          'dup: { fd: dev, as: a }',
          'close: { fd: nic }',
          'dup: { fd: dev, as: b }',
          'dup: { fd: dev, as: c }',
        ],
      ),
      ['EMFILE', 'ok', 'ok', 'EMFILE'],
    );
  });

  test('a failed dup puts back its file reference: the device can still be unbound', () => {
    const text = `name: dup emfile
${DEV}setup:
  - open: { device: gpu0, as: dev }
  - setrlimit: { nofile: 4 }
threads:
  t:
    - dup: { fd: dev, as: d2, expect: EMFILE }
    - close: { fd: dev, expect: ok }
    - unbind: { device: gpu0, expect: ok }
expect: { violations: [] }
`;
    const r = checkScenario(parseScenario(text, 'dup-emfile.yaml'));
    assert.deepEqual(r.violations, []);
    assert.equal(r.verdict, 'pass');
  });
});

describe('dma-buf export when dma_buf_fd() fails (e98137f0a874)', () => {
  const text = (design: string) => `name: export emfile
${DEV}design: ${design}
setup:
  - open: { device: gpu0, as: dev }
  - setrlimit: { nofile: 4 }
threads:
  t:
    - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf, expect: EMFILE }
    - close: { fd: dev, expect: ok }
expect: { violations: [] }
`;
  const found = (design: string): string[] => [
    ...new Set(
      checkScenario(parseScenario(text(design), 'export-emfile.yaml')).violations.map((v) => v.invariant),
    ),
  ];

  test('v6.19: the error path unwinds the export twice; the deferred release reads freed priv', () => {
    assert.deepEqual(found('v6.19'), ['USE_AFTER_FREE']);
  });

  test('upstream: the buffer put is the whole error path; the device closes cleanly', () => {
    assert.deepEqual(found('upstream'), []);
  });
});
