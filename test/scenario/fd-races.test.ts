// Races on the fd table and the driver binding that the hunter (vdm hunt) reported as bugs of the
// kernel while they were gaps of the model: fork copying the fd table while another thread closes
// an fd (dup_fd() takes file references under file_lock, which close_fd() also takes), and two
// unbinds of one device (the driver core serialises them under device_lock and runs the remove
// only while a driver is bound).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

const DEV = `devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
`;

const explore = (text: string, design = 'upstream') =>
  checkScenario(parseScenario(`name: fd races\n${DEV}design: ${design}\n${text}`, 'fd-races.yaml'));

describe('fd table and driver binding races', () => {
  for (const design of ['upstream', 'v5.8']) {
    test(`${design}: fork racing a close of an fd frees nothing the child copied`, () => {
      const r = explore(
        `setup:\n  - open: { device: gpu0, as: fd }\nprocesses: { main: [a, b], kid: [] }\nthreads:\n  a:\n    - close: { fd: fd }\n  b:\n    - fork: { as: kid }\n`,
        design,
      );
      assert.ok(r.complete);
      assert.deepEqual(
        r.violations.map((v) => `${v.invariant}: ${v.message}`),
        [],
      );
      assert.ok(r.executions >= 2, 'the fork and the close are explored in both orders');
    });

    test(`${design}: two unbinds of one device remove the driver once`, () => {
      const r = explore(
        `threads:\n  a:\n    - unbind: { device: gpu0 }\n  b:\n    - unbind: { device: gpu0 }\n`,
        design,
      );
      assert.ok(r.complete);
      assert.deepEqual(
        r.violations.map((v) => `${v.invariant}: ${v.message}`),
        [],
      );
    });
  }

  test('the second unbind finds no driver bound: ENODEV', () => {
    const text = `name: unbind twice\n${DEV}threads:\n  a:\n    - unbind: { device: gpu0, expect: ok }\n    - unbind: { device: gpu0, expect: ENODEV }\nexpect: { violations: [] }\n`;
    const r = checkScenario(parseScenario(text, 'unbind-twice.yaml'));
    assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
  });
});
