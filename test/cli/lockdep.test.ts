// `vdm lockdep`: the lock graph of a whole search under the kernel's lockdep class names, each
// dependency with the kernel function chains that made it and a replay command, and cycles as
// lockdep reports them.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kernelLockName } from '../../src/kernel/lock-classes.js';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));
const vdm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', cwd: root });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('vdm lockdep', () => {
  test('v5.8 pread into its own mapping: recursive memory_lock, with both acquisitions and a replay; exit 1', () => {
    const r = vdm('lockdep', 'examples/v5.8-pread-lock-order.yaml');
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /WARNING: possible recursive locking detected/);
    assert.match(
      r.out,
      /vmm is trying to acquire &vdev->memory_lock \(read\)\n {2}.*vfio_pci_mmap_fault\(\)/,
    );
    // Every dependency names kernel classes and its replay command replays it.
    assert.match(r.out, /&mm->mmap_lock \(read\) -> &vdev->memory_lock \(read\)/);
    const cmd = /replay: vdm replay (\S+) --schedule (\S+)/.exec(r.out);
    assert.ok(cmd, 'a replay command');
    const again = vdm('replay', cmd[1]!, '--schedule', cmd[2]!);
    assert.equal(again.code, 1, 'the replay shows the recursive acquisition');
    assert.match(again.out, /recursive locking: vmm acquires memory_lock \(read\) while already holding it/);
  });

  test('a scenario without a cycle: every dependency, no warning, exit 0; --json gives the kernel names', () => {
    const r = vdm('lockdep', 'examples/reset-races-fault.yaml', '--design', 'upstream');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /no circular locking dependency/);
    assert.doesNotMatch(r.out, /WARNING/);
    const j = JSON.parse(
      vdm('lockdep', 'examples/reset-races-fault.yaml', '--design', 'upstream', '--json').out,
    );
    assert.equal(j.complete, true);
    assert.ok(j.dependencies.length > 0);
    // upstream's declared lock order (dma_resv_lockdep()'s chain and VFIO's) is in the graph, as
    // observed where a thread made the dependency, else declared (no stack, no schedule).
    const edge = (d: { fromKernel: string; toKernel: string }) => `${d.fromKernel} -> ${d.toKernel}`;
    const order = [
      '&mm->mmap_lock -> &vdev->memory_lock',
      '&mm->mmap_lock -> reservation_ww_class_mutex',
      '&vdev->memory_lock -> &mapping->i_mmap_rwsem',
      '&vdev->memory_lock -> reservation_ww_class_mutex',
      'fs_reclaim -> &mapping->i_mmap_rwsem',
      'reservation_ww_class_mutex -> &pages->mutex',
      'reservation_ww_class_mutex -> fs_reclaim',
    ];
    const all = new Set(j.dependencies.map(edge));
    for (const e of order) assert.ok(all.has(e), e);
    for (const d of j.dependencies.filter((x: { thread: string }) => x.thread.startsWith('(declared')))
      assert.ok(order.includes(edge(d)), `${edge(d)} is declared by upstream`);
    for (const d of j.dependencies) {
      assert.equal(d.fromKernel, kernelLockName(d.from));
      if (d.thread.startsWith('(declared')) continue;
      assert.ok(
        Array.isArray(d.acquireStack) && d.acquireStack.length > 0,
        `${d.from} -> ${d.to} has a stack`,
      );
    }
    assert.ok(
      j.dependencies.some((d: { fromKernel: string }) => d.fromKernel === '&vdev->memory_lock'),
      'memory_lock is held while something else is taken',
    );
    assert.deepEqual(j.cycles, []);
  });

  test('an ATS device reset: &group->mutex under &vdev->memory_lock with its kernel chain, the declared chain, the cycle', () => {
    const r = vdm('lockdep', 'examples/ats-reset-vs-fault-lockdep.yaml');
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /&group->mutex {3}\[model: group->mutex\]/);
    assert.match(
      r.out,
      /&vdev->memory_lock \(write\) -> &group->mutex \(lock\)\n {6}by admin\n {8}held in {2}sys_reset\(\) > vfio_pci_core_ioctl\(\) > vfio_pci_ioctl_reset\(\) > vfio_pci_zap_and_down_write_memory_lock\(\)\n.*\n {8}taken in sys_reset\(\) > vfio_pci_core_ioctl\(\) > vfio_pci_ioctl_reset\(\) > pci_try_reset_function\(\) > __pci_reset_function_locked\(\) > pcie_flr\(\) > pci_dev_reset_iommu_prepare\(\)/,
    );
    assert.match(
      r.out,
      /&group->mutex \(lock\) -> cpu_hotplug_lock \(lock\)\n {6}declared: the design's lock order or the machine's lockChains/,
    );
    assert.match(r.out, /WARNING: possible circular locking dependency detected/);
    assert.match(
      r.out,
      /&vdev->memory_lock --> &group->mutex --> cpu_hotplug_lock --> &type->i_mutex_dir_key#4/,
    );
    // Without ATS: no group->mutex is taken, and no cycle.
    const plain = vdm('lockdep', 'examples/ats-reset-vs-fault-no-ats.yaml', '--json');
    assert.equal(plain.code, 0, plain.err);
    const j = JSON.parse(plain.out);
    assert.ok(
      !j.dependencies.some(
        (d: { toKernel: string; schedule: string }) => d.toKernel === '&group->mutex' && d.schedule !== '',
      ),
    );
    assert.deepEqual(j.cycles, []);
  });

  test('kernel names: a nested subclass keeps its /N; an unknown class stays as it is', () => {
    assert.equal(kernelLockName('memory_lock'), '&vdev->memory_lock');
    assert.equal(kernelLockName('mmap_lock/1'), '&mm->mmap_lock/1');
    assert.equal(kernelLockName('dev_set->lock'), '&dev_set->lock');
    assert.equal(kernelLockName('group->mutex'), '&group->mutex');
    assert.equal(kernelLockName('my_test_lock'), 'my_test_lock');
  });
});
