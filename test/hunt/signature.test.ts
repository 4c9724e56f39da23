// Signatures: one bug reached from many programs is one signature — addresses, handle and thread
// names, counts and the rotation of a lock cycle do not split it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { messageShape, signatureOf, waitsForUser } from '../../src/hunt/run.js';

const nowhere = { ops: new Map<string, string>() };

describe('signatures', () => {
  test('a message keeps its shape, not its addresses, names or numbers', () => {
    assert.equal(
      messageShape('pte leaf at 0x7f0000201000 still maps gpu1 BAR0 after its memory was disabled'),
      messageShape('pte leaf at 0x7f0000000000 still maps gpu0 BAR0 after its memory was disabled'),
    );
    assert.equal(
      messageShape('t3: BUG: remap_pfn_range() over a present PTE at 0x7f0000001000 (remap_pte_range)'),
      'BUG: remap_pfn_range() over a present PTE at # (remap_pte_range)',
    );
  });

  test('a lock cycle is the same signature whichever lock it is printed from', () => {
    const v = (m: string) => ({ kind: 'lock-order' as const, id: 'LOCK_ORDER', message: m, schedule: '' });
    const a = signatureOf(
      v('lock order inversion: memory_lock -> mmap_lock -> vma_lock -> memory_lock'),
      nowhere,
    );
    const b = signatureOf(
      v('lock order inversion: vma_lock -> memory_lock -> mmap_lock -> vma_lock'),
      nowhere,
    );
    assert.equal(a.key, b.key);
    assert.equal(a.key, 'LOCK_ORDER memory_lock -> mmap_lock -> vma_lock -> memory_lock');
  });

  test('an invariant is keyed by the operation of the thread that broke it and the message shape', () => {
    const v = {
      kind: 'invariant' as const,
      id: 'MMIO_WHILE_DISABLED',
      message: 'kernel (t1) read gpu0 BAR0 (pfn 0x3800000, via gpu0 BAR0 read) while the device is in D3hot',
      schedule: '',
    };
    const s = signatureOf(v, {
      thread: 't1',
      ops: new Map([
        ['t1', 'op:pread'],
        ['t2', 'op:power'],
      ]),
    });
    assert.equal(
      s.key,
      'MMIO_WHILE_DISABLED op:pread | kernel (t) read dev BAR0 (pfn #, via dev BAR0 read) while the device is in D3hot',
    );
  });

  test('a deadlock is what its threads wait on, whatever the threads are called or numbered', () => {
    const v = (m: string) => ({ kind: 'deadlock' as const, id: 'DEADLOCK', message: m, schedule: '' });
    const a = signatureOf(
      v(
        'deadlock: t0 waits in lock on mutex gpu0.vma_lock (held by t3); t3 waits in down_write(wait) on rwsem gpu0.memory_lock (read-held by t0; writers queued: t3)',
      ),
      nowhere,
    );
    const b = signatureOf(
      v(
        'deadlock: vmm waits in down_write(wait) on rwsem gpu1.memory_lock (read-held by admin; writers queued: vmm); admin waits in lock on mutex gpu1.vma_lock (held by vmm)',
      ),
      nowhere,
    );
    assert.equal(a.key, b.key);
  });
});

describe('sleeps by design until user space acts', () => {
  test('an unbind waiting for the device users, and a second unbind behind its device_lock', () => {
    assert.ok(
      waitsForUser(
        'deadlock: t2 waits in wait on completion gpu0.comp (done=0); t3 waits in lock on mutex gpu0.device_lock (held by t2)',
      ),
    );
    assert.ok(
      waitsForUser('deadlock: t2 waits in wait on completion main.m2.uffd.fault_wqh@7f0040002000 (done=0)'),
    );
  });

  test('a lock held across a userfault is a finding, not a user wait', () => {
    // v5.8: the pread's copy sleeps in handle_userfault() holding memory_lock; a memory disable waits for it.
    assert.equal(
      waitsForUser(
        'deadlock: vmm waits in wait on completion main.m.uffd.fault_wqh@7f0000001000 (done=0); admin waits in down_write(wait) on rwsem gpu0.memory_lock (read-held by vmm; writers queued: admin)',
      ),
      false,
    );
    assert.equal(
      waitsForUser(
        'deadlock: vmm waits in down_read on rwsem gpu0.memory_lock (read-held by admin); admin waits in lock on mutex gpu0.vma_lock (held by vmm)',
      ),
      false,
    );
  });
});
