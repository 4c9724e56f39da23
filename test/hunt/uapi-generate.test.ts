// The hunter's uAPI description and program generator: derived from the scenario operations' own
// table (every operation described, none typed by hand), programs that the scenario loader accepts,
// reproducible from a seed, written and read back as scenario files.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateProgram, mutateProgram } from '../../src/hunt/generate.js';
import { type HuntProgram, programOf, programSize, programText } from '../../src/hunt/program.js';
import { Rng } from '../../src/hunt/rng.js';
import { shrinkProgram } from '../../src/hunt/shrink.js';
import { describeUapi, uapiText } from '../../src/hunt/uapi.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { parseScenario } from '../../src/scenario/load.js';
import { OP_NAMES, OPS } from '../../src/scenario/ops.js';

function loads(p: HuntProgram): boolean {
  try {
    parseScenario(programText(p, { name: 'gen' }), 'gen.yaml');
    return true;
  } catch (e) {
    if (e instanceof ScenarioError) return false;
    throw e;
  }
}

describe('the uAPI description', () => {
  test('describes every scenario operation from its schema, with what it uses and creates', () => {
    const { ops, untyped } = describeUapi();
    assert.deepEqual(untyped, [], 'every argument of every operation has a value domain');
    assert.deepEqual(
      ops.map((o) => o.name),
      OP_NAMES,
    );
    for (const o of ops) {
      assert.deepEqual(new Set(o.uses), new Set(Object.values(OPS[o.name].uses)), o.name);
      assert.equal(o.creates, OPS[o.name].creates, o.name);
      assert.ok(!o.args.some((a) => a.name === 'expect'), 'a generated program expects nothing');
    }
    const mmap = ops.find((o) => o.name === 'mmap')!;
    assert.deepEqual(
      mmap.args.map((a) => `${a.name}:${a.domain.kind}${a.optional ? '?' : ''}`),
      ['fd:handle', 'region:int?', 'offset:size?', 'length:size', 'at:size?', 'as:new'],
    );
    assert.match(
      uapiText(),
      /^mmap\(fd: fd, region\?: BAR index, offset\?: offset, length: length, at\?: address, as: new map\) -> map/m,
    );
  });
});

describe('generated programs', () => {
  test('most load; each names only handles made before it; two to four threads', () => {
    let ok = 0;
    const N = 300;
    for (let seed = 1; seed <= N; seed++) {
      const p = generateProgram(new Rng(seed));
      assert.ok(p.threads.length >= 1 && p.threads.length <= 5, `seed ${seed}: ${p.threads.length} threads`);
      assert.ok(p.processes.length <= 2, `seed ${seed}: ${p.processes.join(',')}`);
      if (loads(p)) ok++;
    }
    assert.ok(ok >= N * 0.6, `${ok} of ${N} generated programs load`);
  });

  test('a seed gives the same program; a mutation changes it and usually still loads', () => {
    const a = programText(generateProgram(new Rng(7)), { name: 'x' });
    const b = programText(generateProgram(new Rng(7)), { name: 'x' });
    assert.equal(a, b);
    let loaded = 0;
    let changed = 0;
    const rng = new Rng(3);
    for (let i = 0; i < 100; i++) {
      const base = generateProgram(rng);
      const m = mutateProgram(base, rng);
      if (programText(m.program, { name: 'x' }) !== programText(base, { name: 'x' })) changed++;
      if (loads(m.program)) loaded++;
    }
    assert.ok(changed >= 80, `${changed} of 100 mutations changed the program`);
    assert.ok(loaded >= 50, `${loaded} of 100 mutants load`);
  });

  test('a program written as a scenario file reads back the same', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const p = generateProgram(new Rng(seed));
      const text = programText(p, { name: 'round trip' });
      let sc: ReturnType<typeof parseScenario>;
      try {
        sc = parseScenario(text, 'rt.yaml');
      } catch {
        continue;
      }
      // Read back, the loader's defaults are filled in; from then on the text is a fixed point and
      // means what the generated one meant.
      const again = programText(programOf(sc), { name: 'round trip' });
      const sc2 = parseScenario(again, 'rt2.yaml');
      assert.equal(programText(programOf(sc2), { name: 'round trip' }), again, `seed ${seed}`);
      const ops = (x: typeof sc) =>
        JSON.stringify(
          [x.setup, x.threads]
            .flat(2)
            .map((o) => ('ops' in o ? o.ops.map((y) => [y.op, y.args]) : [o.op, o.args])),
        );
      assert.equal(ops(sc2), ops(sc), `seed ${seed}`);
    }
  });
});

describe('shrinking', () => {
  test('keeps what the property needs and drops the rest', () => {
    const text = `name: big
machine: { arch: arm64, thp: madvise }
devices:
  - name: gpu0
    bars: [ { index: 0, size: 1G, phys: 0x3800000000 }, { index: 2, size: 16K, phys: 0x3880000000 } ]
  - name: gpu1
    bars: [ { index: 0, size: 16K, phys: 0x3a00000000 } ]
setup:
  - open: { device: gpu0, as: fd1 }
  - open: { device: gpu1, as: fd2 }
  - mmap: { fd: fd1, region: 0, length: 2M, as: m1 }
threads:
  t0:
    - load: { map: m1, offset: 4K }
    - reset: { fd: fd2 }
  t1:
    - pread: { fd: fd1, region: 0, length: 2M, map: m1 }
    - store: { map: m1, offset: 2M }
  t2:
    - flr: { fd: fd1 }
`;
    const p = programOf(parseScenario(text, 'big.yaml'));
    // The property: some thread loads through a mapping of a BAR of gpu0.
    const holds = (q: HuntProgram) =>
      q.threads.some((t) => t.ops.some((o) => o.op === 'load')) && q.devices.some((d) => d.name === 'gpu0');
    const r = shrinkProgram(p, holds, { maxRuns: 1000, deadline: Date.now() + 60_000 });
    assert.equal(r.cut, false);
    assert.deepEqual(programSize(r.program), { threads: 1, ops: 3 }, programText(r.program, { name: 's' }));
    assert.equal(r.program.arch, 'x86_64');
    assert.equal(r.program.thp, 'always');
    assert.deepEqual(
      r.program.devices.map((d) => d.bars.map((b) => b.size)),
      [[4096]],
    );
    assert.ok(r.refused > 0, 'candidates that use a removed handle are refused without running');
  });
});
