// The `driver:` key of a scenario device (docs/scenarios.md, "Drivers"): what the loader refuses
// for an nvgrace-gpu device, that `driver: vfio-pci` is the default exactly (the same exploration,
// event for event), and the verdicts of the nvgrace-gpu examples against their vfio-pci contrast.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { parseScenario } from '../../src/scenario/load.js';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '../../../examples');
const example = (f: string) => readFileSync(join(EXAMPLES, f), 'utf8');

/** `field: message` of every issue of a scenario that does not load. */
function issues(text: string): string[] {
  try {
    parseScenario(text, 'nv.yaml');
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return e.issues.map(
      (i) => `${i.line}:${i.column} ${i.field}: ${i.message}${i.suggestion ? ` (${i.suggestion})` : ''}`,
    );
  }
  return assert.fail('the scenario loaded');
}

const device = (bars: string[], extra = '') =>
  [
    'name: nv',
    'devices:',
    '  - name: gh0',
    '    driver: nvgrace-gpu',
    '    bars:',
    ...bars.map((b) => `      - ${b}`),
    extra,
    'threads:',
    '  t:',
    '    - open: { device: gh0, as: d }',
    '',
  ].join('\n');

const BAR0 = '{ index: 0, size: 16M, phys: 0x3000000000 }';
const USEMEM = '{ index: 4, size: 12K, phys: 0x400000000000 }';

describe('loading an nvgrace-gpu device', () => {
  test('BAR0 and region 4 are enough; region 2 and its size need not be powers of two', () => {
    const sc = parseScenario(
      device([BAR0, USEMEM, '{ index: 2, size: 12K, phys: 0x400000003000 }']),
      'nv.yaml',
    );
    assert.equal(sc.devices[0]!.driver, 'nvgrace-gpu');
    assert.deepEqual(
      sc.devices[0]!.bars.map((b) => [b.index, b.size]),
      [
        [0, 16 * 2 ** 20],
        [4, 12 * 1024],
        [2, 12 * 1024],
      ],
    );
  });

  test('without region 4 or BAR0: each is named, at the bars list', () => {
    assert.deepEqual(issues(device([USEMEM])), [
      '6:7 devices[0].bars: an nvgrace-gpu device needs BAR0, its registers (`{ index: 0, size: 16M, phys: ... }`)',
    ]);
    assert.deepEqual(issues(device([BAR0])), [
      "6:7 devices[0].bars: an nvgrace-gpu device shows its memory as region 4 (usemem): add `{ index: 4, size: <memory length>, phys: <its address> }` (and region 2 for Grace Hopper's resmem)",
    ]);
  });

  test('the upper halves of the 64-bit BARs, a small BAR0, struct pages and unaligned memory are refused', () => {
    assert.deepEqual(
      issues(
        device([
          '{ index: 0, size: 64K, phys: 0x3000000000 }',
          '{ index: 1, size: 16K, phys: 0x3100000000 }',
          '{ index: 4, size: 5000, phys: 0x400000000800, structPages: true }',
        ]),
      ),
      [
        '6:27 devices[0].bars[0].size: nvgrace-gpu reads its readiness registers at BAR0 + 0x1498 and + 0x200BC: BAR0 is at least 256K (the GPU has 16M)',
        '7:18 devices[0].bars[1].index: nvgrace-gpu has no BAR1: it is the upper half of the 64-bit BAR0 (the GPU registers)',
        '8:68 devices[0].bars[2].structPages: nvgrace-gpu device memory has no struct pages: the host does not online it, the driver maps it as PFNMAP',
        '8:27 devices[0].bars[2].size: a device-memory size is a whole number of 4K pages (at least one)',
        '8:39 devices[0].bars[2].phys: device memory starts on a page: 0x400000000800 does not',
      ],
    );
  });

  test('a design before v6.19 is refused; an unknown driver is a misspelling', () => {
    assert.deepEqual(issues(device([BAR0, USEMEM], 'design: v6.12')), [
      '4:13 devices[0].driver: the nvgrace-gpu driver is modelled on the designs upstream, dmabuf-backed, shared-base, v7.1, v6.19 only, not on v6.12',
    ]);
    const text = device([BAR0, USEMEM]).replace('driver: nvgrace-gpu', 'driver: nvgrace-gpus');
    assert.deepEqual(issues(text), [
      '4:13 devices[0].driver: "nvgrace-gpus" is not one of vfio-pci, nvgrace-gpu (nvgrace-gpu)',
    ]);
  });
});

describe('driver: vfio-pci is the default, exactly', () => {
  for (const file of ['reset-races-fault.yaml', 'pread-across-bars.yaml', 'iommufd-map-file-revoke.yaml']) {
    test(`${file}: the same exploration with and without \`driver: vfio-pci\``, () => {
      const text = example(file);
      const explicit = text.replace(/^( {2}- name: (\w+)\n)/gm, '$1    driver: vfio-pci\n');
      assert.notEqual(explicit, text);
      for (const d of ['upstream', 'v5.8']) {
        const a = checkScenario(parseScenario(text, file), { design: designOf(d), maxExecutions: 300 });
        const b = checkScenario(parseScenario(explicit, file), { design: designOf(d), maxExecutions: 300 });
        const sum = (r: typeof a) => ({
          verdict: r.verdict,
          executions: r.executions,
          events: r.events,
          violations: r.violations.map((v) => v.invariant),
        });
        assert.deepEqual(sum(b), sum(a), d);
      }
    });
  }
});

describe('the nvgrace-gpu examples and their vfio-pci contrast', () => {
  const ids = (text: string, file: string) =>
    [...new Set(checkScenario(parseScenario(text, file)).violations.map((v) => v.invariant))].sort();
  /** The same file with vfio-pci and the usemem region read as BAR0 (region 0, 16M). */
  const asVfioPci = (text: string) =>
    text
      .replace('driver: nvgrace-gpu', 'driver: vfio-pci')
      .replace(/region: 4/g, 'region: 0')
      .replace(/\n {6}- \{ index: [24],[^\n]*/g, '');

  test('faults on device memory against a memory disable and a reset: nothing breaks', () => {
    assert.deepEqual(ids(example('nvgrace-gpu-fault-vs-reset.yaml'), 'a.yaml'), []);
  });

  test('pread into the device’s own mapping: LOCK_ORDER and DEADLOCK; vfio-pci: nothing', () => {
    const text = example('nvgrace-gpu-pread-into-own-bar.yaml');
    assert.deepEqual(ids(text, 'b.yaml'), ['DEADLOCK', 'LOCK_ORDER']);
    assert.deepEqual(ids(asVfioPci(text), 'b-vfio-pci.yaml'), []);
  });

  test('pread into a userfaultfd buffer, the handler touching the device: LOCK_ORDER and DEADLOCK; vfio-pci: nothing', () => {
    const text = example('nvgrace-gpu-pread-userfaultfd.yaml');
    assert.deepEqual(ids(text, 'c.yaml'), ['DEADLOCK', 'LOCK_ORDER']);
    assert.deepEqual(ids(asVfioPci(text), 'c-vfio-pci.yaml'), []);
    // A handler that leaves the device alone only makes the writer wait: no deadlock; the copy's
    // mmap_lock under memory_lock is still against every design's declared order (findings #6).
    const patient = text.replace(/ {4}- load: \{ map: bar, offset: 0 \}\n/, '');
    assert.notEqual(patient, text);
    assert.deepEqual(ids(patient.replace('[LOCK_ORDER, DEADLOCK]', '[]'), 'c2.yaml'), ['LOCK_ORDER']);
  });

  test('an importer after a reset reaches memory no poll has seen ready', () => {
    assert.deepEqual(ids(example('nvgrace-gpu-importer-before-ready.yaml'), 'd.yaml'), [
      'MMIO_WHILE_DISABLED',
    ]);
  });
});
