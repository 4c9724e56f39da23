// Anonymous memory and userfaultfd (mmap_anon, uffd_copy): a fault on a missing page of a
// registered mapping sleeps until UFFDIO_COPY fills it — a real blocking point for the explorer —
// while the zero page, copy-on-write and GUP's refusal behave as the kernel's.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';
import { threadOutcomes } from './helpers/outcomes.js';

const HEAD = `name: uffd
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
setup:
  - mmap_anon: { length: 8K, uffd: true, as: buf }
  - mmap_anon: { length: 4K, as: plain }
threads:
  t:
`;

function outcomes(...ops: string[]): string[] {
  return threadOutcomes(HEAD + ops.map((o) => `    - ${o}\n`).join(''), 'uffd.yaml');
}

/** The ids a full dpor search of the text finds (the search must complete). */
function found(text: string, design?: string): string[] {
  const sc = parseScenario(text, 'uffd.yaml');
  const r = checkScenario(sc, design ? { design: designOf(design) } : {});
  assert.equal(r.complete, true, JSON.stringify(r.incomplete));
  return [...new Set(r.violations.map((v) => v.invariant))].sort();
}

describe('anonymous memory and userfaultfd', () => {
  test('plain anonymous memory: a read maps the zero page, a write copies it; both succeed', () => {
    assert.deepEqual(
      outcomes('load: { map: plain, offset: 0 }', 'store: { map: plain, offset: 0 }', 'load: { map: plain }'),
      ['ok', 'ok', 'ok'],
    );
  });

  test('uffd_copy fills a page once: EEXIST the second time; ENOENT on a mapping without a userfaultfd', () => {
    assert.deepEqual(
      outcomes(
        'uffd_copy: { map: buf, offset: 0 }',
        'uffd_copy: { map: buf, offset: 0 }',
        'uffd_copy: { map: plain, offset: 0 }',
        'store: { map: buf, offset: 0 }',
      ),
      ['ok', 'EEXIST', 'ENOENT', 'ok'],
    );
  });

  test('get_user_pages() of a missing registered page fails (EFAULT) instead of waiting; a filled one is taken', () => {
    assert.deepEqual(
      outcomes(
        'gup: { map: buf, offset: 0, fast: false }',
        'uffd_copy: { map: buf, offset: 0 }',
        'gup: { map: buf, offset: 0, fast: false }',
      ),
      ['EFAULT', 'ok', 'ok'],
    );
  });

  test('a fault on a missing page sleeps until uffd_copy: with no copy the thread never returns', () => {
    const text = `${HEAD}    - store: { map: buf, offset: 0 }\ncheck: { strategy: dpor }\n`;
    assert.deepEqual(found(text), ['DEADLOCK']);
    const copied = `${HEAD}    - store: { map: buf, offset: 0, expect: ok }\n  handler:\n    - uffd_copy: { map: buf, offset: 0, expect: ok }\ncheck: { strategy: dpor }\n`;
    assert.deepEqual(found(copied), []);
  });

  test('the example: the waiting store lands after the copy in every interleaving', () => {
    const sc = loadScenarioFile('examples/uffd-copy-wakes-fault.yaml');
    const r = checkScenario(sc);
    assert.equal(r.complete, true);
    assert.deepEqual(r.violations, []);
  });

  test('v5.8 holds memory_lock across the stalled copy (DEADLOCK, LOCK_ORDER); v5.13 and upstream hold nothing', () => {
    const sc = loadScenarioFile('examples/v5.8-uffd-stall-under-memory-lock.yaml');
    const ids = (design: string) =>
      [...new Set(checkScenario(sc, { design: designOf(design) }).violations.map((v) => v.invariant))].sort();
    // The whole v5.8 search (folded, the default there) also meets v5.8's fault racing the zap
    // (MMIO_WHILE_DISABLED, the race of examples/v5.8-fault-vs-disable.yaml): the handler's BAR
    // fault remaps after the disable's zap found nothing to zap.
    assert.deepEqual(ids('v5.8'), ['DEADLOCK', 'LOCK_ORDER', 'MMIO_WHILE_DISABLED']);
    assert.deepEqual(ids('v5.13'), []);
    assert.deepEqual(ids('upstream'), []);
  });
});
