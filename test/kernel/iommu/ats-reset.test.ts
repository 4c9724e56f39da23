// The IOMMU reset hooks of v7.0 (pci_dev_reset_iommu_prepare()/done(), device key `ats`, design
// option resetPreparesIommu): a reset of an ATS function takes its IOMMU group's mutex, inside
// memory_lock for VFIO_DEVICE_RESET and the emulated FLR; with the lockChains of the list's report
// (examples/ats-reset-vs-fault-lockdep.yaml) that closes a LOCK_ORDER cycle, which a device without
// ATS, or a design before v7.0, does not have.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DESIGN_NAMES, DESIGNS, designOf } from '../../../src/designs/design.js';
import { pciDevResetIommuDone, pciDevResetIommuPrepare } from '../../../src/kernel/iommu/iommu.js';
import { kernelLockName, modelLockClass } from '../../../src/kernel/lock-classes.js';
import { Machine } from '../../../src/kernel/machine.js';
import { PciDev, pciTryResetFunction } from '../../../src/kernel/pci/pci.js';
import { checkScenario, recordScenario, runScenario } from '../../../src/scenario/check.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { scenarioProgram } from '../../../src/scenario/program.js';
import { exploreLockGraph, type LockDependency } from '../../../src/sched/explore.js';
import { runOnce } from '../helpers/run.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const EXAMPLE = 'examples/ats-reset-vs-fault-lockdep.yaml';
const NO_ATS = 'examples/ats-reset-vs-fault-no-ats.yaml';
const text = (file: string) => readFileSync(`${root}${file}`, 'utf8');

/** The example with its `ats:` line and threads replaced (the lockChains kept). */
function variant(o: { ats: boolean; admin?: string; chains?: boolean }): string {
  let t = text(EXAMPLE).replace(/ats: true/, `ats: ${o.ats}`);
  if (o.admin) t = t.replace(/- reset: \{ fd: dev, expect: ok \}/, o.admin);
  if (o.chains === false) t = t.replace(/ {2}lockChains:\n {4}- \[[^\]]*\]\n/, '');
  return t;
}

function ids(source: string, design?: string): string[] {
  const sc = parseScenario(source, 'ats.yaml');
  const r = checkScenario(sc, design ? { design: designOf(design) } : {});
  return [...new Set(r.violations.map((v) => v.invariant))].sort();
}

/** The dependencies into `&group->mutex` that the scenario's own executions make. */
function intoGroupMutex(source: string, design?: string): LockDependency[] {
  const sc = parseScenario(source, 'ats.yaml');
  const g = exploreLockGraph(scenarioProgram(sc, design ? { design: designOf(design) } : {}));
  return g.dependencies.filter((d) => kernelLockName(d.to) === '&group->mutex' && d.schedule !== '');
}

describe('ATS reset: pci_dev_reset_iommu_prepare()/done()', () => {
  test('lockdep names: the model class group->mutex is &group->mutex, both ways', () => {
    assert.equal(kernelLockName('group->mutex'), '&group->mutex');
    assert.equal(modelLockClass('&group->mutex'), 'group->mutex');
    // Names the model has no lock for stay classes of their own, #N and all.
    assert.equal(modelLockClass('&type->i_mutex_dir_key#4'), '&type->i_mutex_dir_key#4');
    assert.equal(modelLockClass('cpu_hotplug_lock'), 'cpu_hotplug_lock');
  });

  test('prepare parks the RID on the blocking domain under group->mutex, done puts it back; no ATS: nothing', () => {
    const setup = () => {
      const machine = new Machine('x86_64', 'always', DESIGNS.upstream);
      const bar = (phys: number) => [{ index: 0, size: 16384, phys }];
      return {
        ats: new PciDev(machine, { name: 'nic0', bars: bar(0x3800000000), ats: true }),
        plain: new PciDev(machine, { name: 'gpu0', bars: bar(0x3900000000) }),
      };
    };
    const seen: string[] = [];
    const { state, result } = runOnce(setup, function* ({ ats, plain }) {
      const g = ats.iommuGroup;
      const at = () => `${g.attached}${g.resetting ? ' resetting' : ''}${g.mutex.locked ? ' locked' : ''}`;
      const r = yield* pciDevResetIommuPrepare(ats);
      seen.push(at());
      yield* pciDevResetIommuDone(ats);
      seen.push(at());
      // A whole reset leaves the group as it found it.
      const reset = yield* pciTryResetFunction(ats);
      seen.push(at());
      const other = yield* pciDevResetIommuPrepare(plain);
      seen.push(`${plain.iommuGroup.attached}${plain.iommuGroup.resetting ? ' resetting' : ''}`);
      return [r, reset, other];
    });
    assert.deepEqual(result, [0, 0, 0]);
    assert.deepEqual(seen, ['blocking resetting', 'domain', 'domain', 'domain']);
    assert.equal(state.ats.hw.value.inReset, false);
    assert.equal(state.ats.hw.value.command, 2, 'pci_dev_restore() wrote the command register back');
  });

  test('a reset takes group->mutex twice: prepare before the FLR, done after it and before the restore', () => {
    const setup = () => {
      const machine = new Machine('x86_64', 'always', DESIGNS.upstream);
      return new PciDev(machine, {
        name: 'nic0',
        bars: [{ index: 0, size: 16384, phys: 0x3800000000 }],
        ats: true,
      });
    };
    const order: string[] = [];
    runOnce(setup, function* (pdev) {
      const hw = () => `command ${pdev.hw.value.command}${pdev.hw.value.inReset ? ', in reset' : ''}`;
      const lock = pdev.iommuGroup.mutex.lock.bind(pdev.iommuGroup.mutex);
      pdev.iommuGroup.mutex.lock = (sub?: number) => {
        order.push(`lock (${hw()})`);
        return lock(sub);
      };
      return yield* pciTryResetFunction(pdev);
    });
    // prepare before the FLR cleared the command register; done after the device came back out of
    // reset and before pci_dev_restore() wrote the command register back.
    assert.deepEqual(order, ['lock (command 2)', 'lock (command 0)']);
  });

  test('VFIO_DEVICE_RESET of an ATS device takes &group->mutex under &vdev->memory_lock (write), in pcie_flr()', () => {
    const deps = intoGroupMutex(text(EXAMPLE));
    assert.equal(deps.length, 1, JSON.stringify(deps.map((d) => `${d.from} -> ${d.to}`)));
    const d = deps[0]!;
    assert.equal(kernelLockName(d.from), '&vdev->memory_lock');
    assert.equal(d.fromMode, 'write');
    assert.equal(d.thread, 'admin');
    assert.deepEqual(d.holdStack?.slice(-2), [
      'vfio_pci_ioctl_reset',
      'vfio_pci_zap_and_down_write_memory_lock',
    ]);
    assert.deepEqual(d.acquireStack?.slice(-5), [
      'vfio_pci_ioctl_reset',
      'pci_try_reset_function',
      '__pci_reset_function_locked',
      'pcie_flr',
      'pci_dev_reset_iommu_prepare',
    ]);
    assert.match(d.schedule, /^[0-9a-z]+:[0-9a-f]{8}$/);
  });

  test('the emulated FLR (vfio_exp_config_write) makes the same dependency', () => {
    const deps = intoGroupMutex(variant({ ats: true, admin: '- flr: { fd: dev, expect: ok }' }));
    assert.deepEqual(
      deps.map((d) => `${kernelLockName(d.from)} (${d.fromMode}) -> ${kernelLockName(d.to)}`),
      ['&vdev->memory_lock (write) -> &group->mutex'],
    );
    assert.ok(deps[0]!.acquireStack?.includes('vfio_exp_config_write'), deps[0]!.acquireStack?.join(' > '));
    assert.deepEqual(ids(variant({ ats: true, admin: '- flr: { fd: dev, expect: ok }' })), ['LOCK_ORDER']);
  });

  test('the example: LOCK_ORDER with ats, none without, none without the declared chain', () => {
    assert.deepEqual(ids(text(EXAMPLE)), ['LOCK_ORDER']);
    assert.deepEqual(ids(text(NO_ATS)), []);
    assert.deepEqual(ids(variant({ ats: false })), []);
    assert.deepEqual(ids(variant({ ats: true, chains: false })), []);
    const sc = parseScenario(text(EXAMPLE), 'ats.yaml');
    const r = checkScenario(sc);
    const m = r.violations.find((v) => v.invariant === 'LOCK_ORDER')!.message;
    assert.match(m, /memory_lock -> group->mutex -> cpu_hotplug_lock -> &type->i_mutex_dir_key#4/);
    assert.match(m, /admin acquires group->mutex \(lock\) while holding memory_lock \(write\)/);
    assert.match(m, /vmm acquires memory_lock \(read\) while holding mmap_lock \(read\)/);
  });

  test("the report's own fault path: type1 MAP_DMA of the BAR mapping (fixup_user_fault) closes the same cycle", () => {
    const src = text(EXAMPLE)
      .replace(
        /( {2}- mmap: \{ fd: dev, region: 0, offset: 0, length: 16K, as: m \}\n)/,
        '$1  - container: { fds: [dev], as: c }\n',
      )
      .replace(
        /- load: \{ map: m, offset: 0x1000 \}/,
        '- map_dma: { container: c, map: m, offset: 0, iova: 0x100000, length: 4K, backend: type1 }',
      );
    assert.match(src, /map_dma/);
    assert.deepEqual(ids(src), ['LOCK_ORDER']);
    const g = exploreLockGraph(scenarioProgram(parseScenario(src, 'ats-map-dma.yaml')));
    const fault = g.dependencies.find(
      (d) => kernelLockName(d.from) === '&mm->mmap_lock' && kernelLockName(d.to) === '&vdev->memory_lock',
    );
    assert.ok(fault, 'mmap_lock -> memory_lock');
    assert.ok(fault.acquireStack?.includes('vaddr_get_pfn'), fault.acquireStack?.join(' > '));
  });

  test("the check's LOCK_ORDER counterexample replays to the same cycle (declared chains in the replay's lockdep)", () => {
    const sc = parseScenario(text(EXAMPLE), EXAMPLE);
    const v = checkScenario(sc).violations.find((x) => x.invariant === 'LOCK_ORDER')!;
    const rec = recordScenario(sc, v.schedule);
    const lo = rec.violations.filter((x) => x.id === 'LOCK_ORDER');
    assert.equal(lo.length, 1, JSON.stringify(rec.violations));
    assert.match(lo[0]!.message, /admin acquires group->mutex \(lock\) while holding memory_lock \(write\)/);
    assert.match(lo[0]!.message, /group->mutex -> cpu_hotplug_lock: a dependency declared/);
    // Without ATS the same declared chain closes no cycle: a whole execution replays clean.
    const plain = runScenario(parseScenario(text(NO_ATS), NO_ATS));
    assert.deepEqual(plain.violations, []);
    assert.ok(
      plain.steps.some((e) => e.thread === 'admin'),
      'the reset ran',
    );
  });

  test('designs: v7.0 and later (upstream, v7.1, the proposals) have the dependency; v6.19 and older do not', () => {
    const withHooks = ['upstream', 'v7.1', 'dmabuf-backed', 'shared-base'];
    for (const d of DESIGN_NAMES) {
      const deps = intoGroupMutex(text(EXAMPLE), d);
      const expected = withHooks.includes(d);
      assert.equal(DESIGNS[d].options.resetPreparesIommu, expected, d);
      if (!expected) {
        assert.deepEqual(deps, [], `${d}: no group->mutex`);
        assert.ok(!ids(text(EXAMPLE), d).includes('LOCK_ORDER'), `${d}: no LOCK_ORDER`);
      } else {
        assert.deepEqual(
          deps.map((x) => kernelLockName(x.from)),
          ['&vdev->memory_lock'],
          `${d}: memory_lock -> group->mutex`,
        );
      }
    }
    // The option alone turns it off on upstream.
    const sc = parseScenario(text(EXAMPLE), 'ats.yaml');
    const off = checkScenario(sc, { design: designOf('upstream', { resetPreparesIommu: false }) });
    assert.deepEqual(off.violations, []);
  });

  test('without ATS the reset makes exactly the events it made before the hooks (same executions)', () => {
    const a = checkScenario(parseScenario(text(NO_ATS), 'a.yaml'));
    const b = checkScenario(parseScenario(text(NO_ATS), 'b.yaml'), {
      design: designOf('upstream', { resetPreparesIommu: false }),
    });
    assert.equal(a.executions, b.executions);
    assert.equal(a.events, b.events);
  });
});
