// `expect.designs`: per-design expectations, so that `check` and `compare` judge each design by
// "this design has the bug / does not" instead of one list written for the file's own design.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { checkScenario, compareScenario, expectedOn } from '../../src/scenario/check.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';

describe('expect.designs', () => {
  test('a design named there is judged by its own list; any other by violations', () => {
    const sc = loadScenarioFile('examples/v7.1-iommufd-access-pin-dmabuf.yaml');
    assert.deepEqual(expectedOn(sc, 'upstream'), []);
    assert.deepEqual(expectedOn(sc, 'v7.1'), ['LOCK_ORDER']);
    assert.deepEqual(expectedOn(sc, 'v6.12'), ['LOCK_ORDER']);
    const on = (d: string) => checkScenario(sc, { design: designOf(d) });
    const up = on('upstream');
    assert.equal(up.verdict, 'pass');
    assert.deepEqual(up.expected, []);
    assert.equal(on('v7.1').verdict, 'pass');
    assert.equal(on('v6.19').verdict, 'pass');
    // v6.12 has no dma-buf export: the file's own list applies and is not met.
    assert.equal(on('v6.12').verdict, 'fail');
  });

  test("compare's verdict column uses them", () => {
    const sc = loadScenarioFile('examples/v7.1-iommufd-unpin-without-resv.yaml');
    const r = compareScenario(sc, { designs: ['upstream', 'v7.1', 'v6.19'] });
    assert.deepEqual(
      r.results.map((x) => `${x.design}:${x.verdict}`),
      ['upstream:pass', 'v7.1:pass', 'v6.19:pass'],
    );
  });

  test('an unknown design name is a load error naming the file, line and field', () => {
    const text = `name: x
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
threads:
  t:
    - open: { device: gpu0, as: d }
expect: { violations: [], designs: { v9.9: [] } }
`;
    assert.throws(
      () => parseScenario(text, 'bad.yaml'),
      (e: unknown) =>
        e instanceof ScenarioError && /bad\.yaml:8:\d+: expect\.designs/.test(String(e.message)),
    );
  });
});

describe('a setup operation that fails without an expect', () => {
  const text = (setupExpect: string) => `name: setup fails
design: v6.12
devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
setup:
  - open: { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 4K } ], as: buf${setupExpect} }
threads:
  t:
    - close: { fd: dev }
check: { strategy: dpor }
`;

  test('is reported as a warning naming the operation, its outcome and where it is', () => {
    const r = checkScenario(parseScenario(text(''), 'setup.yaml'));
    assert.equal(r.verdict, 'pass');
    assert.equal(r.warnings?.length, 1);
    assert.match(
      r.warnings![0]!,
      /^setup: export fd=dev .* returned ENOTTY \(setup\.yaml:8:\d+\), and no expect: says so$/,
    );
  });

  test('is not reported when its expect says so', () => {
    const r = checkScenario(parseScenario(text(', expect: ENOTTY'), 'setup.yaml'));
    assert.equal(r.warnings, undefined);
  });
});
