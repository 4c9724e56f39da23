// A short, seeded hunt re-finds a known bug without being told about it, and shrinks it to a small
// scenario that `vdm check` confirms: v5.8's pread holds memory_lock across a copy that faults, an
// inversion against the memory-disable path (fixed by bc93b9ae0151, docs/history.md).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { designOf } from '../../src/designs/design.js';
import { hunt } from '../../src/hunt/hunt.js';
import { processPool } from '../../src/hunt/pool.js';
import { checkScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';
import { scenarioProgram } from '../../src/scenario/program.js';
import { replay } from '../../src/sched/explore.js';

/** v5.8's pread holding memory_lock across a user copy that faults: both forms of the cycle. */
const PREAD_BUG = [
  'LOCK_ORDER memory_lock -> mmap_lock -> vma_lock -> memory_lock',
  'LOCK_ORDER recursive memory_lock',
];

describe('vdm hunt', () => {
  test('on v5.8 it re-finds the pread lock-order bug and shrinks it to one thread', async () => {
    const r = await hunt(
      {
        designs: [{ name: 'v5.8' }],
        seed: 1,
        timeMs: 300_000,
        maxPrograms: 80,
        bounds: { maxExecutions: 100, timeLimitMs: 2000 },
        shrink: { maxRuns: 300, timeMs: 60_000 },
      },
      processPool(1),
    );
    assert.equal(r.stoppedBecause, 'programs');
    assert.equal(r.stats.programs, 80);
    assert.ok(r.stats.blocks > 100, `${r.stats.blocks} model blocks reached`);
    assert.ok(r.stats.corpus > 0 && r.stats.corpus <= 80);
    const sig = r.signatures.find((s) => PREAD_BUG.includes(s.key));
    assert.ok(sig, `found: ${r.signatures.map((s) => s.key).join('\n')}`);
    assert.ok(sig.shrunk, 'shrunk');
    assert.equal(sig.shrunk.threads, 1, sig.shrunk.text);
    assert.ok(sig.shrunk.ops <= 4, sig.shrunk.text);
    assert.ok(sig.frames.includes('vfio_pci_rw'), sig.frames.join(' > '));
    // The shrunk file is a scenario whose expectation holds, and its schedule replays the cycle.
    const sc = parseScenario(sig.shrunk.text, 'shrunk.yaml');
    const rep = checkScenario(sc);
    assert.equal(rep.verdict, 'pass', JSON.stringify(rep.violations));
    assert.ok(sig.shrunk.schedule);
    const again = replay(scenarioProgram(sc), sig.shrunk.schedule);
    assert.ok(
      again.violations.some((v) => v.id === 'LOCK_ORDER'),
      again.violations.map((v) => v.message).join('\n'),
    );
    // Sleeps the kernel does by design are told apart and not shrunk.
    for (const s of r.signatures.filter((x) => x.waitsForUser)) assert.equal(s.shrunk, undefined, s.key);
  });

  test('--design all: a signature one design shows and another does not is a difference, shrunk as one', async () => {
    // Started from a corpus program (as a resumed hunt is): v5.7's read through the fd ignores
    // memory decode; later designs refuse the read (EIO) and show nothing.
    const text = readFileSync(
      new URL('../../../examples/v5.7-read-ignores-decode.yaml', import.meta.url),
      'utf8',
    );
    const designs = ['v5.7', 'v5.8', 'upstream'].map((name) => ({ name }));
    const r = await hunt({
      designs,
      seed: 1,
      timeMs: 300_000,
      maxPrograms: 1,
      corpus: [{ text, file: 'v5.7-read-ignores-decode.yaml' }],
      bounds: { maxExecutions: 100, timeLimitMs: 5000 },
      shrink: { maxRuns: 100, timeMs: 60_000 },
    });
    const sig = r.signatures.find((s) => s.id === 'MMIO_WHILE_DISABLED');
    assert.ok(sig, r.signatures.map((s) => s.key).join('\n'));
    assert.deepEqual(sig.designs, ['v5.7']);
    assert.equal(sig.absentOn, 'v5.8');
    assert.ok(sig.shrunk, 'shrunk');
    // The shrunk program still shows it on v5.7 and still does not on v5.8.
    const sc = parseScenario(sig.shrunk.text, 'shrunk.yaml');
    assert.equal(checkScenario(sc, { design: designOf('v5.7') }).verdict, 'pass');
    const on58 = checkScenario(sc, { design: designOf('v5.8') });
    assert.ok(!on58.violations.some((v) => v.invariant === 'MMIO_WHILE_DISABLED'));
  });

  test('on worker processes the programs are shared out and the results merged', async () => {
    const r = await hunt(
      {
        designs: [{ name: 'v5.8' }],
        seed: 1,
        timeMs: 300_000,
        maxPrograms: 24,
        bounds: { maxExecutions: 50, timeLimitMs: 2000 },
        shrink: false,
      },
      processPool(2),
    );
    assert.equal(r.stats.programs, 24);
    assert.ok(r.stats.executions > 24);
    assert.ok(r.stats.blocks > 100, 'each worker reads its own coverage');
  });
});

describe('the worker pool', () => {
  test('a worker that dies fails its job and is replaced; the next job runs', async () => {
    const pool = processPool(1);
    const text = readFileSync(new URL('../../../examples/faults-vs-disable.yaml', import.meta.url), 'utf8');
    const job = {
      kind: 'evaluate' as const,
      text,
      designs: [{ name: 'upstream' }],
      bounds: { maxExecutions: 100_000, timeLimitMs: 60_000 },
      coverage: false,
    };
    try {
      const [pid] = pool.pids();
      const running = pool.run(job);
      setTimeout(() => process.kill(pid!, 'SIGKILL'), 300);
      await assert.rejects(running, /a hunt worker process died \(SIGKILL\)/);
      await new Promise((r) => setTimeout(r, 100));
      assert.notEqual(pool.pids()[0], pid, 'a new worker took its place');
      const small = await pool.run({ ...job, bounds: { maxExecutions: 5, timeLimitMs: 5000 } });
      assert.equal(small.kind, 'evaluate');
    } finally {
      await pool.close();
    }
  });
});
