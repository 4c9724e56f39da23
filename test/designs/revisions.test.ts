// The posted revisions of the dmabuf-backed series (option `revision`, docs/designs.md "The posted
// revisions"): each loads and runs; the verdict differences the docs claim hold; the fix the model
// proposes is a separate option; a dma-buf fd mmapped after revoke or cleanup gets each revision's
// errno.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DESIGNS, designOf, OPTION_VALUES } from '../../src/designs/design.js';
import { isDmaBufFile } from '../../src/kernel/dma-buf/dma-buf.js';
import type { VfioPciDmaBuf } from '../../src/kernel/vfio/pci/dmabuf.js';
import { checkScenario, runScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';
import { mappedThroughDeviceFd } from './helpers.js';

const KiB = 1024;
const REVISIONS = OPTION_VALUES.revision;
const example = (name: string) =>
  parseScenario(
    readFileSync(fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url)), 'utf8'),
    `examples/${name}`,
  );
const ids = (r: { violations: { invariant: string }[] }) =>
  [...new Set(r.violations.map((v) => v.invariant))].sort();
const rev = (revision: (typeof REVISIONS)[number], o: Record<string, unknown> = {}) =>
  designOf('dmabuf-backed', { revision, ...o });

test('the revisions in posting order; the default is the newest one read (v4), with no fix', () => {
  assert.deepEqual(REVISIONS, ['v1', 'v2', 'v3', 'v4']);
  const o = DESIGNS['dmabuf-backed'].options;
  assert.equal(o.revision, 'v4');
  assert.equal(o.normalizePgoff, false, 'the fix is not credited to the series');
  assert.equal(o.mmapHook, 'mmap', 'every revision makes the buffer in ->mmap');
  assert.equal(o.resetZap, 'after-d0');
  assert.equal(o.compatImportsDmabuf, false, 'no revision posts the compat import');
});

test('a revision brings its options; an explicit option still wins; other designs are untouched', () => {
  assert.equal(rev('v1').options.resetZap, 'before-d0');
  for (const r of ['v2', 'v3', 'v4'] as const) assert.equal(rev(r).options.resetZap, 'after-d0');
  assert.equal(rev('v1', { resetZap: 'after-d0' }).options.resetZap, 'after-d0');
  assert.equal(designOf('upstream', { revision: 'v1' }).options.resetZap, 'before-d0');
  assert.equal(designOf('shared-base', { revision: 'v1' }).options.resetZap, 'before-d0');
  assert.equal(designOf('shared-base', { revision: 'v2' }).options.resetZap, 'before-d0');
});

/** 16 KiB of BAR `region` from `offset`, mapped through the device fd on `design` (32 KiB BARs). */
const mapped = (design: ReturnType<typeof designOf>, region: number, offset: number) =>
  mappedThroughDeviceFd(design, { barSize: 32 * KiB, region, offset });

describe('what each revision posted for a device-fd mmap', () => {
  test('every revision: the buffer is made in ->mmap, swapped into vm_file, and the VMA is filed in its address_space', () => {
    for (const r of REVISIONS) {
      const { file, vma } = mapped(rev(r), 1, 0);
      assert.ok(vma.file && isDmaBufFile(vma.file), r);
      const priv = vma.privateData as VfioPciDmaBuf;
      assert.equal(priv.vfile, file, `${r}: the VMA's device-file reference moved to the buffer`);
      assert.equal(file.count.value, 2, `${r}: the fd and the buffer, no extra get`);
      assert.ok(vma.file.mapping.contains(vma), `${r}: linked into the buffer's i_mmap`);
    }
  });

  test('v1: vm_pgoff masked to the offset in the BAR, buffer from the BAR start; v2-v4: region pgoff, buffer = span', () => {
    const pages = (16 * KiB) / 4096;
    const v1 = mapped(rev('v1'), 1, 16 * KiB);
    assert.equal(v1.vma.pgoff, pages);
    assert.deepEqual((v1.vma.privateData as VfioPciDmaBuf).physVec, [{ paddr: 0x3800010000, len: 32 * KiB }]);
    for (const r of ['v2', 'v3', 'v4'] as const) {
      const { vma } = mapped(rev(r), 1, 16 * KiB);
      assert.equal(vma.pgoff, 2 ** 28 + pages, r);
      const priv = vma.privateData as VfioPciDmaBuf;
      assert.deepEqual(priv.physVec, [{ paddr: 0x3800014000, len: 16 * KiB }], r);
      assert.equal(priv.vmaPgoffAdjust, vma.pgoff, r);
    }
    const fix = mapped(rev('v4', { normalizePgoff: true }), 1, 16 * KiB);
    assert.equal(fix.vma.pgoff, 0);
    assert.deepEqual((fix.vma.privateData as VfioPciDmaBuf).physVec, [
      { paddr: 0x3800014000, len: 16 * KiB },
    ]);
  });
});

describe('verdicts per revision', () => {
  test('each revision loads from a scenario file and runs a reset racing a fault to completion', () => {
    for (const r of REVISIONS) {
      const sc = parseScenario(
        `name: r\ndevices:\n  - name: gpu0\n    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]\ndesign: { name: dmabuf-backed, revision: ${r} }\nsetup:\n  - open: { device: gpu0, as: dev }\n  - mmap: { fd: dev, region: 0, length: 16K, as: m }\nthreads:\n  vmm:\n    - load: { map: m, offset: 0x1000 }\n  admin:\n    - reset: { fd: dev, expect: ok }\nexpect: { violations: [] }\n`,
        `${r}.yaml`,
      );
      assert.equal(sc.design.options.revision, r);
      const rep = checkScenario(sc);
      assert.equal(rep.verdict, 'pass', `${r}: ${JSON.stringify(rep.violations)}`);
      assert.ok(rep.complete && rep.executions > 1, r);
    }
  });

  for (const file of ['proposal-zap-coverage-gap.yaml', 'proposal-sparse-offset-reset.yaml']) {
    test(`${file}: v2, v3 and v4 leave the mapping unzapped; v1 and the fix do not`, () => {
      const sc = example(file);
      const expected = [...sc.expect.violations].sort();
      const posted = checkScenario(sc);
      assert.equal(posted.verdict, 'pass', 'the file runs v4 and expects the gap');
      const later = ['v2', 'v3', 'v4'].map((r) => checkScenario(sc, { design: rev(r as 'v2') }));
      for (const l of later) {
        assert.deepEqual(ids(l), expected);
        assert.equal(l.executions, later[0]!.executions, 'v2-v4 do not differ in the model');
      }
      assert.deepEqual(ids(checkScenario(sc, { design: rev('v1') })), []);
      assert.deepEqual(ids(checkScenario(sc, { design: rev('v4', { normalizePgoff: true }) })), []);
    });
  }

  test('BAR0 mapped from its first page is covered by every revision', () => {
    const sc = example('proposal-client-dmabuf.yaml');
    for (const r of REVISIONS) assert.deepEqual(ids(checkScenario(sc, { design: rev(r) })), [], r);
  });

  test('a reset revokes (and so zaps) before the D0 transition in v1, after it from v2', () => {
    const sc = parseScenario(
      `name: order\ndevices:\n  - name: gpu0\n    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]\ndesign: dmabuf-backed\nsetup:\n  - open: { device: gpu0, as: dev }\n  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 16K } ], as: buf }\nthreads:\n  admin:\n    - reset: { fd: dev, expect: ok }\n`,
      'order.yaml',
    );
    const order = (r: 'v1' | 'v4') => {
      const steps = runScenario(sc, { design: rev(r) }).steps;
      const first = (fn: string) => steps.findIndex((s) => s.stack.includes(fn));
      return { zap: first('unmap_mapping_range'), d0: first('pci_set_power_state') };
    };
    const v1 = order('v1');
    const v4 = order('v4');
    assert.ok(v1.zap >= 0 && v1.d0 > v1.zap, JSON.stringify(v1));
    assert.ok(v4.zap > v4.d0, JSON.stringify(v4));
  });
});

describe('mmap of a dma-buf fd after revoke or cleanup', () => {
  const story = (design: string, how: string) =>
    parseScenario(
      `name: mmap after a revoke\ndevices:\n  - name: gpu0\n    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]\ndesign: ${design}\nsetup:\n  - open: { device: gpu0, as: dev }\n  - export: { fd: dev, region: 0, ranges: [ { offset: 0, length: 16K } ], as: buf }\n${how}\nthreads:\n  p:\n    - mmap: { fd: buf, length: 16K, as: m }\n`,
      'after.yaml',
    );
  const HOW = {
    'permanent revoke': '  - revoke: { fd: dev, dmabuf: buf, expect: ok }',
    'memory disable': '  - command: { fd: dev, memory: false, expect: ok }',
    'cleanup (device fd closed)': '  - close: { fd: dev }',
  };
  const outcome = (sc: ReturnType<typeof story>) => {
    const rec = runScenario(sc);
    const end = rec.marks.find((m) => m.kind === 'op-end' && (m.data as { op?: string }).op === 'mmap');
    return (end?.data as { outcome?: string } | undefined)?.outcome;
  };

  for (const [how, line] of Object.entries(HOW)) {
    test(`${how}: ENODEV on every revision, EINVAL upstream (no dma_buf_ops.mmap)`, () => {
      for (const r of REVISIONS) {
        assert.equal(outcome(story(`{ name: dmabuf-backed, revision: ${r} }`, line)), 'ENODEV', r);
      }
      assert.equal(outcome(story('upstream', line === HOW['permanent revoke'] ? '' : line)), 'EINVAL');
    });
  }

  test('before any revoke the mmap succeeds on every revision', () => {
    for (const r of REVISIONS)
      assert.equal(outcome(story(`{ name: dmabuf-backed, revision: ${r} }`, '')), 'ok', r);
  });
});
