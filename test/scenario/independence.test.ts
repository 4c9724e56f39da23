// Independent work is never interleaved: processes that each work on their own device, through
// their own fd table, mm and locks, share nothing, so every interleaving of them is one
// Mazurkiewicz trace and dpor runs exactly one execution — on every design. A model that made
// something private into a shared object (a lock class, lockdep bookkeeping, an invariant that
// reads every device at once) would multiply the count here.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESIGN_NAMES, designOf } from '../../src/designs/design.js';
import { checkScenario } from '../../src/scenario/check.js';
import { loadScenarioFile, parseScenario } from '../../src/scenario/load.js';

type Work = 'disable-close' | 'map-load-disable' | 'map-disable-unmap';

/** n processes, each with its own device and one thread doing `work` on it. */
function family(n: number, work: Work): string {
  const lines = ['name: independent family', 'machine: { arch: x86_64, thp: always }', 'devices:'];
  for (let i = 0; i < n; i++)
    lines.push(
      `  - name: gpu${i}`,
      `    bars: [ { index: 0, size: 16K, phys: ${0x3800000000 + i * 0x100000000} } ]`,
    );
  lines.push(`design: upstream`);
  lines.push(`processes: { ${Array.from({ length: n }, (_, i) => `vmm${i}: [t${i}]`).join(', ')} }`);
  lines.push('setup:');
  for (let i = 0; i < n; i++) {
    lines.push(`  - open: { device: gpu${i}, as: d${i} }`, `    process: vmm${i}`);
    if (work !== 'disable-close')
      lines.push(
        `  - mmap: { fd: d${i}, region: 0, offset: 0, length: 16K, as: m${i} }`,
        `    process: vmm${i}`,
      );
  }
  lines.push('threads:');
  for (let i = 0; i < n; i++) {
    lines.push(`  t${i}:`);
    if (work === 'disable-close')
      lines.push(`    - command: { fd: d${i}, memory: false }`, `    - close: { fd: d${i} }`);
    if (work === 'map-load-disable')
      lines.push(`    - load: { map: m${i}, offset: 0x1000 }`, `    - command: { fd: d${i}, memory: false }`);
    if (work === 'map-disable-unmap')
      lines.push(`    - command: { fd: d${i}, memory: false }`, `    - munmap: { map: m${i} }`);
  }
  lines.push('expect: { violations: [] }');
  return `${lines.join('\n')}\n`;
}

for (const work of ['disable-close', 'map-load-disable', 'map-disable-unmap'] as const) {
  test(`independent processes (${work}): one execution on every design, for 1 to 3 processes`, () => {
    for (let n = 1; n <= 3; n++) {
      const sc = parseScenario(family(n, work), `<${work}-${n}>`);
      for (const d of DESIGN_NAMES) {
        const r = checkScenario(sc, { design: designOf(d), maxExecutions: 50 });
        assert.equal(r.executions, 1, `${n} processes on ${d}: ${r.executions} executions`);
        assert.equal(r.complete, true, `${n} processes on ${d}`);
      }
    }
  });
}

test('the independence examples and bench scenarios explore one execution', () => {
  for (const file of [
    'examples/independent-devices.yaml',
    'bench/scenarios/kernel/two-devices-1.yaml',
    'bench/scenarios/kernel/two-devices-2.yaml',
    'bench/scenarios/kernel/two-devices-3.yaml',
  ]) {
    const r = checkScenario(loadScenarioFile(file), { maxExecutions: 50 });
    assert.equal(r.executions, 1, file);
    assert.equal(r.verdict, 'pass', file);
  }
});
