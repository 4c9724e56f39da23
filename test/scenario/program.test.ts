// The scenario interpreter: handles and waiting, processes and fork, outcomes and `expect`, the
// marks a replay records. Each test is a scenario a user could write.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkScenario, runScenario } from '../../src/scenario/check.js';
import { parseScenario } from '../../src/scenario/load.js';

const DEV = `devices:
  - name: gpu0
    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]
`;

const outcomes = (src: string) =>
  runScenario(parseScenario(src, 't.yaml'))
    .marks.filter((m) => m.kind === 'op-end' && m.thread !== 'setup')
    .map((m) => `${m.thread}:${m.data.op}=${m.data.outcome}`);

test('a handle made by another thread is waited for: the user never runs before it exists', () => {
  const sc = parseScenario(
    `name: wait
${DEV}setup:
  - open: { device: gpu0, as: dev }
threads:
  user:
    - load: { map: m, offset: 0, expect: ok }
  maker:
    - mmap: { fd: dev, region: 0, length: 16K, as: m }
`,
    't.yaml',
  );
  assert.deepEqual(sc.waited, ['main/m']);
  const r = checkScenario(sc);
  assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
  assert.ok(r.complete);
  // The plain run: user comes first but blocks until maker's mmap completes its handle.
  const marks = runScenario(sc).marks.filter((m) => m.kind === 'op-end');
  assert.deepEqual(
    marks.map((m) => m.data.op),
    ['open', 'mmap', 'load'],
  );
});

test('a failed operation creates no handle: uses behave like -1 / MAP_FAILED (SIGSEGV, EBADF)', () => {
  const got = outcomes(`name: failed
${DEV}threads:
  t:
    - open: { device: gpu0, as: dev }
    - mmap: { fd: dev, region: 3, length: 4K, as: m }
    - load: { map: m }
    - close: { fd: dev }
    - reset: { fd: dev }
`);
  assert.deepEqual(got, ['t:open=ok', 't:mmap=EINVAL', 't:load=sigsegv', 't:close=ok', 't:reset=EBADF']);
});

test('an unmet expect is an EXPECT violation naming the operation and where it is', () => {
  const sc = parseScenario(
    `name: expect
${DEV}threads:
  t:
    - open: { device: gpu0, as: dev }
    - mmap: { fd: dev, region: 3, length: 4K, as: m, expect: ok }
expect: { violations: [EXPECT] }
`,
    'e.yaml',
  );
  const r = checkScenario(sc);
  assert.equal(r.verdict, 'pass');
  const v = r.violations.find((x) => x.invariant === 'EXPECT');
  assert.ok(v);
  assert.equal(v.kind, 'expect');
  assert.match(v.message, /t: mmap .* returned EINVAL, expected ok \(e\.yaml:8:7\)/);
});

test('an unmet expect in setup is reported too', () => {
  const r = checkScenario(
    parseScenario(
      `name: setup expect
${DEV}setup:
  - open: { device: gpu0, as: dev, expect: EBUSY }
threads:
  t:
    - load: { map: m }
  u:
    - mmap: { fd: dev, region: 0, length: 4K, as: m }
`,
      's.yaml',
    ),
  );
  assert.ok(
    r.violations.some(
      (v) => v.invariant === 'EXPECT' && /open .* returned ok, expected EBUSY/.test(v.message),
    ),
  );
});

test('the seed story: a client process given only a dma-buf cannot mmap it upstream (EINVAL)', () => {
  const got = outcomes(`name: client
${DEV}processes: { primary: [vmm], client: [guest] }
setup:
  - open: { device: gpu0, as: dev }
  - export: { fd: dev, region: 0, ranges: [ { offset: 4K, length: 8K } ], as: buf }
threads:
  vmm:
    - send: { fd: buf, to: client, as: cbuf }
  guest:
    - mmap: { fd: cbuf, offset: 0, length: 8K, as: m }
`);
  assert.deepEqual(got, ['vmm:send=ok', 'guest:mmap=EINVAL']);
});

test('fork: the child inherits fds and mappings; its threads start once it exists', () => {
  const sc = parseScenario(
    `name: fork
${DEV}processes: { parent: [p], child: [c] }
setup:
  - open: { device: gpu0, as: dev }
  - mmap: { fd: dev, region: 0, length: 16K, as: m }
threads:
  p:
    - fork: { as: child }
  c:
    - load: { map: m, offset: 0x2000, expect: ok }
    - reset: { fd: dev, expect: ok }
`,
    'f.yaml',
  );
  assert.equal(sc.processes.find((x) => x.name === 'child')?.origin, 'thread');
  const r = checkScenario(sc);
  assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
  assert.deepEqual(outcomes(sc.source), ['p:fork=ok', 'c:load=ok', 'c:reset=ok']);
});

test('a replay records leaves set and cleared, and the memory map at the end', () => {
  const rec = runScenario(
    parseScenario(
      `name: marks
${DEV}setup:
  - open: { device: gpu0, as: dev }
  - mmap: { fd: dev, region: 0, length: 16K, as: m }
threads:
  t:
    - load: { map: m, offset: 0x1000 }
    - command: { fd: dev, memory: false }
`,
      'm.yaml',
    ),
  );
  const kinds = rec.marks.map((m) => m.kind);
  assert.ok(kinds.includes('leaf-set'));
  assert.ok(kinds.includes('leaf-clear'));
  assert.equal(rec.memory.processes[0]?.vmas.length, 1);
  assert.equal(rec.memory.processes[0]?.vmas[0]?.leaves.length, 0);
  assert.ok(rec.memory.zapped.length >= 1);
  assert.match(rec.memory.devices[0]!.state, /memory decode off/);
  // Every step carries the scenario op and the kernel functions under it.
  const fault = rec.steps.find((s) => s.stack.includes('handle_mm_fault'));
  assert.ok(fault);
  assert.equal(fault.stack[0], 'op:load');
});

test('check.invariants limits what is checked', () => {
  const src = `name: subset
${DEV}design: v5.7
setup:
  - open: { device: gpu0, as: dev }
  - mmap: { fd: dev, region: 0, length: 16K, as: m }
threads:
  vmm:
    - load: { map: m, offset: 0x1000 }
  admin:
    - reset: { fd: dev }
`;
  const all = checkScenario(parseScenario(src, 'a.yaml'));
  assert.ok(all.violations.some((v) => v.invariant === 'MMIO_WHILE_DISABLED'));
  const some = checkScenario(parseScenario(`${src}check: { invariants: [TRANSLATION] }\n`, 'a.yaml'));
  assert.deepEqual(some.violations, []);
});
