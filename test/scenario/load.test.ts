// The scenario loader as users meet it (docs/scenarios.md): a valid file becomes a
// Scenario with sizes in bytes and the documented defaults; a bad one is refused with every problem
// at once, each naming file, line, column and field, with the nearest valid spelling when there is
// one; YAML's riskier features do nothing; handles made by another thread are waited for.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DESIGN_NAMES } from '../../src/designs/design.js';
import { ScenarioError, type ScenarioIssue } from '../../src/scenario/errors.js';
import { loadScenarioFile, MAX_SCENARIO_BYTES, parseScenario } from '../../src/scenario/load.js';
import { WAITS } from '../../src/scenario/resolve.js';

const FILE = 'test.yaml';
/** Lines 1-4 of most sources below: a name and one device. */
const HEAD = [
  'name: t',
  'devices:',
  '  - name: gpu0',
  '    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]',
];
const src = (...lines: string[]) => `${[...HEAD, ...lines].join('\n')}\n`;

function issuesOf(source: string, file = FILE): ScenarioIssue[] {
  try {
    parseScenario(source, file);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    return e.issues;
  }
  return assert.fail('the scenario loaded');
}

/** The one issue a source has; its file is always the one given. */
function issueOf(source: string): ScenarioIssue {
  const issues = issuesOf(source);
  assert.equal(issues.length, 1, `expected one issue, got ${JSON.stringify(issues, null, 1)}`);
  assert.equal(issues[0]!.file, FILE);
  return issues[0]!;
}

/** [line, column, field, message, suggestion] of an issue, for deepEqual. */
const at = (i: ScenarioIssue) => [i.line, i.column, i.field, i.message, i.suggestion];

describe('a valid scenario', () => {
  test('sizes in 4K / 2M / 1G, hex and plain numbers become bytes', () => {
    const sc = parseScenario(
      [
        'name: sizes',
        'devices:',
        '  - name: gpu0',
        '    bars:',
        '      - { index: 0, size: 1G, phys: 0x4000000000 }',
        '      - { index: 2, size: 2M, phys: 0x3800000000 }',
        '      - { index: 4, size: 4K, phys: 1073741824 }',
        '      - { index: 5, size: 65536, phys: 0x10000, structPages: true }',
        'threads:',
        '  t:',
        '    - open: { device: gpu0, as: d }',
        '    - mmap: { fd: d, region: 0, offset: 4k, length: 2M, as: m }',
        '    - load: { map: m }',
        '    - store: { map: m, offset: 0x1FF000, expect: sigbus }',
        '',
      ].join('\n'),
      FILE,
    );
    assert.deepEqual(sc.devices, [
      {
        name: 'gpu0',
        bars: [
          { index: 0, size: 2 ** 30, phys: 0x40_0000_0000, structPages: false },
          { index: 2, size: 2 ** 21, phys: 0x38_0000_0000, structPages: false },
          { index: 4, size: 4096, phys: 2 ** 30, structPages: false },
          { index: 5, size: 65536, phys: 65536, structPages: true },
        ],
      },
    ]);
    const [open, mmap, load, store] = sc.threads[0]!.ops;
    assert.deepEqual(open!.args, { device: 'gpu0', as: 'd' });
    assert.deepEqual(mmap!.args, { fd: 'd', region: 0, offset: 4096, length: 2 ** 21, as: 'm' });
    assert.deepEqual(load!.args, { map: 'm', offset: 0 }, 'offset defaults to 0');
    assert.deepEqual(store!.args, { map: 'm', offset: 0x1ff000, expect: 'sigbus' });
    assert.equal(mmap!.where, `${FILE}:12:7`);
    assert.equal(mmap!.path, 'threads.t[1]');
  });

  test('defaults: design upstream, one process `main`, x86_64 with THP always, expect no violations', () => {
    const sc = parseScenario(src('threads:', '  a:', '    - open: { device: gpu0, as: d }', '  b: []'), FILE);
    assert.equal(sc.name, 't');
    assert.equal(sc.file, FILE);
    assert.equal(sc.description, undefined);
    assert.deepEqual(sc.design, { name: 'upstream', options: {} });
    assert.deepEqual(sc.processes, [{ name: 'main', threads: ['a', 'b'], origin: 'start' }]);
    assert.deepEqual(
      sc.threads.map((t) => [t.name, t.process]),
      [
        ['a', 'main'],
        ['b', 'main'],
      ],
    );
    assert.deepEqual(sc.machine, { arch: 'x86_64', thp: 'always' });
    assert.deepEqual(sc.expect, { violations: [], exactly: false });
    assert.deepEqual(sc.check, {});
    assert.deepEqual(sc.setup, []);
    assert.deepEqual(sc.waited, []);
  });

  test('design options, machine, processes, check and expect as written', () => {
    const sc = parseScenario(
      src(
        'description: d',
        'machine: { arch: arm64, thp: madvise }',
        'design: { name: v6.19, closeOrder: disable-first, hugeFault: false }',
        'processes: { vmm: [a], guest: [b] }',
        'threads:',
        '  a: [ { iommufd: { as: i } } ]',
        '  b: [ { iommufd: { as: i } } ]',
        'check: { strategy: pct, invariants: [REFCOUNT], maxExecutions: 5, seed: 7 }',
        'expect: { violations: [REFCOUNT, DEADLOCK], exactly: true }',
      ),
      FILE,
    );
    assert.equal(sc.description, 'd');
    assert.deepEqual(sc.machine, { arch: 'arm64', thp: 'madvise' });
    assert.deepEqual(sc.design, {
      name: 'v6.19',
      options: { closeOrder: 'disable-first', hugeFault: false },
    });
    assert.deepEqual(
      sc.processes.map((p) => [p.name, p.threads]),
      [
        ['vmm', ['a']],
        ['guest', ['b']],
      ],
    );
    assert.deepEqual(sc.check, { strategy: 'pct', invariants: ['REFCOUNT'], maxExecutions: 5, seed: 7 });
    assert.deepEqual(sc.expect, { violations: ['REFCOUNT', 'DEADLOCK'], exactly: true });
  });

  test('a YAML alias of a plain value is allowed', () => {
    const sc = parseScenario(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: d }',
        '    - mmap: { fd: d, length: &len 8K, as: m }',
      ),
      FILE,
    );
    assert.equal(sc.threads[0]!.ops[1]!.args.length, 8192);
    const again = src(
      'threads:',
      '  a:',
      '    - open: { device: gpu0, as: d }',
      '    - mmap: { fd: d, length: &len 8K, as: m }',
      '    - gup: { map: m, length: *len, fast: true }',
    );
    assert.equal(parseScenario(again, FILE).threads[0]!.ops[2]!.args.length, 8192);
  });

  test('every example loads from its file', () => {
    const files = readdirSync('examples').filter((f) => f.endsWith('.yaml'));
    assert.ok(files.includes('reset-races-fault.yaml'));
    for (const f of files) {
      const sc = loadScenarioFile(join('examples', f));
      assert.equal(sc.file, join('examples', f));
      assert.ok(sc.threads.length > 0);
    }
    const sc = loadScenarioFile('examples/reset-races-fault.yaml');
    assert.equal(sc.name, 'reset races a fault');
    assert.deepEqual(sc.devices[0]!.bars[0], {
      index: 0,
      size: 16384,
      phys: 0x38_0000_0000,
      structPages: false,
    });
    assert.deepEqual(
      sc.setup.map((o) => o.op),
      ['open', 'mmap'],
    );
  });
});

describe('errors name file, line, column and field', () => {
  test('an unknown top-level key, with the nearest key', () => {
    const issues = issuesOf(src('thread:', '  a:', '    - open: { device: gpu0, as: d }'));
    assert.deepEqual(issues.map(at), [
      [1, 1, 'threads', 'missing required field `threads`', undefined],
      [5, 1, 'thread', 'unknown key `thread`', 'threads'],
    ]);
  });

  test('an unknown operation, with the nearest operation', () => {
    const i = issueOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: d }',
        '    - mmapp: { fd: d, length: 4K, as: m }',
      ),
    );
    assert.deepEqual(at(i), [8, 7, 'threads.a[1].mmapp', 'unknown operation `mmapp`', 'mmap']);
    assert.match(i.message, /unknown operation `mmapp`/);
  });

  test('an unknown argument of an operation, with the nearest argument', () => {
    const issues = issuesOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: d }',
        '    - mmap: { fd: d, lenght: 4K, as: m }',
      ),
    );
    assert.deepEqual(issues.map(at), [
      [8, 13, 'threads.a[1].mmap.length', 'missing required field `length`', undefined],
      [8, 22, 'threads.a[1].mmap.lenght', 'unknown key `lenght`', 'length'],
    ]);
  });

  test('a value outside an enumeration, with the nearest value', () => {
    const thp = issueOf(`machine: { thp: alwys }\n${src('threads: { a: [] }')}`);
    assert.deepEqual(at(thp), [
      1,
      17,
      'machine.thp',
      '"alwys" is not one of always, madvise, never',
      'always',
    ]);
    const power = issueOf(
      src('threads:', '  a:', '    - open: { device: gpu0, as: d }', '    - power: { fd: d, state: D3 }'),
    );
    assert.deepEqual(at(power), [8, 30, 'threads.a[1].power.state', '"D3" is not one of D0, D3hot', 'D3hot']);
    const advice = issueOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: d }',
        '    - madvise: { map: d, advice: HUGEPAGE }',
      ),
    );
    assert.equal(advice.field, 'threads.a[1].madvise.advice');
    assert.equal(advice.suggestion, 'hugepage');
    const inv = issueOf(src('threads: { a: [] }', 'expect: { violations: [MAPING_AFTER_REVOKE] }'));
    assert.deepEqual(
      [inv.line, inv.column, inv.field, inv.suggestion],
      [6, 24, 'expect.violations[0]', 'MAPPING_AFTER_REVOKE'],
    );
    const checked = issueOf(src('threads: { a: [] }', 'check: { invariants: [REFCOUNTS] }'));
    assert.deepEqual([checked.line, checked.column, checked.field], [6, 23, 'check.invariants[0]']);
    assert.equal(checked.suggestion, 'REFCOUNT');
  });

  test('a bad size', () => {
    const i = issueOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: d }',
        '    - mmap: { fd: d, length: 2X, as: m }',
      ),
    );
    assert.deepEqual(at(i), [
      8,
      30,
      'threads.a[1].mmap.length',
      'expected a size or address: bytes, hex such as 0x1000, or 4K / 2M / 1G; got "2X"',
      undefined,
    ]);
    const frac = issueOf(
      src('threads:', '  a:', '    - open: { device: gpu0, as: d }', '    - load: { map: d, offset: 1.5 }'),
    );
    assert.equal(frac.field, 'threads.a[1].load.offset');
    assert.match(frac.message, /got 1\.5$/);
    const huge = issueOf(src('threads:', '  a:', '    - dma: { device: gpu0, iova: 99999999T }'));
    assert.deepEqual(
      [huge.field, huge.message],
      ['threads.a[0].dma.iova', '"99999999T" is not a whole number of bytes below 2^53'],
    );
  });

  test('a missing required field', () => {
    const op = issueOf(src('threads:', '  a:', '    - open: { device: gpu0 }'));
    assert.deepEqual(at(op), [7, 13, 'threads.a[0].open.as', 'missing required field `as`', undefined]);
    const top = issueOf(`${HEAD.slice(1).join('\n')}\nthreads: { a: [] }\n`);
    const issues = issuesOf(['threads: { a: [] }', ''].join('\n'));
    assert.deepEqual(
      issues.map((i) => [i.line, i.column, i.field, i.message]),
      [
        [1, 1, 'name', 'missing required field `name`'],
        [1, 1, 'devices', 'missing required field `devices`'],
      ],
    );
    assert.deepEqual(at(top), [1, 1, 'name', 'missing required field `name`', undefined]);
    const none = issueOf(src('devices: []', 'threads: { a: [] }').replace(HEAD.slice(1).join('\n'), ''));
    assert.deepEqual([none.line, none.field], [3, 'devices']);
    const bar = issueOf(
      [
        'name: t',
        'devices:',
        '  - name: gpu0',
        '    bars: [ { index: 0, size: 16K } ]',
        'threads: { a: [] }',
      ].join('\n'),
    );
    assert.deepEqual(at(bar), [4, 13, 'devices[0].bars[0].phys', 'missing required field `phys`', undefined]);
  });

  test('an unknown design or design option, with the nearest one', () => {
    const name = issueOf(`design: upstreem\n${src('threads: { a: [] }')}`);
    assert.deepEqual(at(name), [
      1,
      9,
      'design',
      `unknown design "upstreem": expected one of ${DESIGN_NAMES.join(', ')}`,
      'upstream',
    ]);
    const inMap = issueOf(`design: { name: v6-19 }\n${src('threads: { a: [] }')}`);
    assert.deepEqual(
      [inMap.line, inMap.column, inMap.field, inMap.suggestion],
      [1, 17, 'design.name', 'v6.19'],
    );
    const option = issueOf(`design: { name: v6.19, closeOrdr: cleanup-first }\n${src('threads: { a: [] }')}`);
    assert.deepEqual(at(option), [
      1,
      24,
      'design.closeOrdr',
      'design option `closeOrdr` does not exist',
      'closeOrder',
    ]);
    const value = issueOf(`design: { name: v6.19, closeOrder: cleanup-frst }\n${src('threads: { a: [] }')}`);
    assert.deepEqual(at(value), [
      1,
      36,
      'design.closeOrder',
      '"cleanup-frst" is not a value of `closeOrder`: expected one of cleanup-first, disable-first',
      'cleanup-first',
    ]);
  });

  test('a handle that nothing creates, with the nearest handle', () => {
    const i = issueOf(
      src('threads:', '  a:', '    - open: { device: gpu0, as: dev }', '    - reset: { fd: de }'),
    );
    assert.deepEqual(at(i), [
      8,
      20,
      'threads.a[1].reset.fd',
      'no handle `de` in process main: nothing creates it with `as: de`',
      'dev',
    ]);
    const inList = issueOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: dev }',
        '    - hot_reset: { fds: [dev, devv] }',
      ),
    );
    assert.deepEqual(
      [inList.line, inList.column, inList.field, inList.suggestion],
      [8, 31, 'threads.a[1].hot_reset.fds[1]', 'dev'],
    );
  });

  test('a handle of the wrong kind (a mapping used as an fd)', () => {
    const i = issueOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: dev }',
        '    - mmap: { fd: dev, region: 0, length: 4K, as: m }',
        '    - reset: { fd: m }',
      ),
    );
    assert.deepEqual(at(i), [
      9,
      20,
      'threads.a[2].reset.fd',
      'handle `m` is a mapping, not an fd',
      undefined,
    ]);
  });

  test('a handle created twice', () => {
    const i = issueOf(
      src(
        'setup:',
        '  - open: { device: gpu0, as: dev }',
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: dev }',
      ),
    );
    assert.deepEqual(at(i), [
      9,
      33,
      'threads.a[0].open.as',
      `handle \`dev\` is created twice in process main (first at ${FILE}:6:5)`,
      undefined,
    ]);
  });

  test('setup using a handle that setup creates only later', () => {
    const i = issueOf(
      src('setup:', '  - reset: { fd: dev }', '  - open: { device: gpu0, as: dev }', 'threads: { a: [] }'),
    );
    assert.deepEqual(at(i), [
      6,
      18,
      'setup[0].reset.fd',
      'setup runs in order: `dev` is created only later',
      undefined,
    ]);
  });

  test('a device name typo', () => {
    const i = issueOf(src('threads:', '  a:', '    - open: { device: gpu1, as: dev }'));
    assert.deepEqual(at(i), [7, 23, 'threads.a[0].open.device', 'no device named `gpu1`', 'gpu0']);
  });

  test('a thread listed in processes that does not exist', () => {
    const i = issueOf(src('processes: { vmm: [admin, vmn] }', 'threads:', '  vmm: []', '  admin: []'));
    assert.deepEqual(at(i), [5, 27, 'processes.vmm[1]', 'no thread named `vmn`', 'vmm']);
  });

  test('BARs: a size not a power of two, a misaligned phys, overlapping BARs', () => {
    const issues = issuesOf(
      [
        'name: t',
        'devices:',
        '  - name: gpu0',
        '    bars:',
        '      - { index: 0, size: 12K, phys: 0x3800000000 }',
        '      - { index: 1, size: 16K, phys: 0x3800001000 }',
        '  - name: gpu1',
        '    bars:',
        '      - { index: 0, size: 1G, phys: 0x3800000000 }',
        'threads: { a: [] }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(issues.map(at), [
      [5, 27, 'devices[0].bars[0].size', 'a BAR size is a power of two of at least 4K', undefined],
      [
        6,
        38,
        'devices[0].bars[1].phys',
        'a BAR is naturally aligned: 0x3800001000 is not a multiple of its size 0x4000',
        undefined,
      ],
      [6, 38, 'devices[0].bars[1].phys', 'overlaps gpu0 BAR0 in physical memory', undefined],
      [9, 37, 'devices[1].bars[0].phys', 'overlaps gpu0 BAR0 in physical memory', undefined],
    ]);
  });

  test('a `process:` in a thread operation', () => {
    const i = issueOf(src('threads:', '  a:', '    - open: { device: gpu0, as: d }', '      process: main'));
    assert.deepEqual(at(i), [
      8,
      7,
      'threads.a[0].process',
      '`process` is for setup operations; a thread runs in its own process',
      undefined,
    ]);
  });

  test('map_dma with both an ioas and a container', () => {
    const i = issueOf(
      src(
        'setup:',
        '  - open: { device: gpu0, as: dev }',
        '  - mmap: { fd: dev, region: 0, length: 4K, as: m }',
        '  - iommufd: { as: ictx }',
        '  - ioas: { iommufd: ictx, as: io }',
        '  - container: { fds: [dev], as: c }',
        'threads:',
        '  a:',
        '    - map_dma: { ioas: io, container: c, map: m, iova: 0, length: 4K }',
      ),
    );
    assert.deepEqual(at(i), [
      13,
      16,
      'threads.a[0].map_dma',
      'map_dma needs exactly one of `ioas` (iommufd compat) or `container` (type1)',
      undefined,
    ]);
  });

  test('several problems are reported together', () => {
    const issues = issuesOf(
      [
        'name: t',
        'machine: { thp: alwys }',
        'devices:',
        '  - name: gpu0',
        '    bars: [ { index: 0, size: 16K, phys: 0x3800000000 } ]',
        'design: upstreem',
        'threads:',
        '  a:',
        '    - mmapp: { fd: d }',
        '    - reset: { fd: nothing }',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      issues.map((i) => [i.line, i.field, i.suggestion]).sort(),
      [
        [2, 'machine.thp', 'always'],
        [6, 'design', 'upstream'],
        [9, 'threads.a[0].mmapp', 'mmap'],
      ].sort(),
    );
    // Names are resolved once the shape is valid: then all naming problems come together too.
    const names = issuesOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: gpu1, as: d }',
        '    - reset: { fd: e }',
        '    - close: { fd: f }',
      ),
    );
    assert.deepEqual(
      names.map((i) => i.field),
      ['threads.a[0].open.device', 'threads.a[1].reset.fd', 'threads.a[2].close.fd'],
    );
  });
});

describe('malformed YAML and whole-file problems', () => {
  test('a duplicate key', () => {
    const i = issueOf(src('threads:', '  a: []', '  a: []'));
    assert.deepEqual(at(i), [7, 3, '', 'Map keys must be unique', undefined]);
  });

  test('a YAML syntax error', () => {
    const issues = issuesOf(src('threads:', '  a:', '    - open: { device: gpu0, as: dev'));
    assert.ok(issues.length >= 1);
    for (const i of issues) {
      assert.equal(i.file, FILE);
      assert.ok(i.line >= 7 && i.column >= 1, JSON.stringify(i));
      assert.equal(i.field, '');
      assert.doesNotMatch(i.message, /\n|\s+at /);
    }
  });

  test('an empty file, or only comments', () => {
    for (const s of ['', '\n\n', '# nothing here\n', '---\n']) {
      assert.deepEqual(at(issueOf(s)), [1, 1, '', 'the file is empty', undefined]);
    }
  });

  test('a top-level list or scalar', () => {
    for (const s of ['- name: t\n- threads: {}\n', 'hello\n', '42\n']) {
      assert.deepEqual(at(issueOf(s)), [
        1,
        1,
        '',
        'a scenario is a mapping (name, devices, threads, ...)',
        undefined,
      ]);
    }
  });

  test('a file that does not exist is reported at line 0', () => {
    const file = join(tmpdir(), 'vdm-no-such-scenario.yaml');
    assert.throws(
      () => loadScenarioFile(file),
      (e: unknown) => {
        assert.ok(e instanceof ScenarioError);
        assert.deepEqual(e.issues, [{ file, line: 0, column: 0, field: '', message: 'no such file' }]);
        assert.equal(e.message, `${file}: no such file`);
        return true;
      },
    );
  });

  const dir = mkdtempSync(join(tmpdir(), 'vdm-load-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a file larger than 1 MiB is refused before parsing', () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `name: t\n${'#'.repeat(MAX_SCENARIO_BYTES)}\n`);
    assert.equal(MAX_SCENARIO_BYTES, 1 << 20);
    assert.throws(
      () => loadScenarioFile(file),
      (e: unknown) => {
        assert.ok(e instanceof ScenarioError);
        assert.equal(e.issues.length, 1);
        const [i] = e.issues;
        assert.deepEqual([i!.file, i!.line, i!.column, i!.field], [file, 0, 0, '']);
        assert.match(i!.message, /limited to 1048576/);
        return true;
      },
    );
    const text = issueOf(`name: t\n${'#'.repeat(MAX_SCENARIO_BYTES)}\n`);
    assert.deepEqual([text.line, text.field], [0, '']);
  });

  test('a directory is not a scenario file', () => {
    assert.throws(
      () => loadScenarioFile(dir),
      (e: unknown) =>
        e instanceof ScenarioError &&
        e.issues[0]!.line === 0 &&
        e.issues[0]!.message === 'not a regular file',
    );
  });

  test('a file on disk reports its path', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, src('threads:', '  a:', '    - mmapp: {}'));
    assert.throws(
      () => loadScenarioFile(file),
      (e: unknown) => {
        assert.ok(e instanceof ScenarioError);
        assert.deepEqual(at(e.issues[0]!), [7, 7, 'threads.a[0].mmapp', 'unknown operation `mmapp`', 'mmap']);
        assert.equal(e.issues[0]!.file, file);
        assert.equal(
          e.message,
          `${file}:7:7: threads.a[0].mmapp: unknown operation \`mmapp\` — did you mean \`mmap\`?`,
        );
        return true;
      },
    );
  });
});

describe('YAML features that must not do anything', () => {
  test('language-specific tags construct nothing and run nothing', () => {
    const g = globalThis as { pwned?: unknown };
    const fn = issueOf(
      src(
        'threads:',
        '  a:',
        '    - open: { device: !!js/function "function () { globalThis.pwned = 1 }", as: d }',
      ),
    );
    assert.deepEqual([fn.line, fn.column, fn.field], [7, 23, '']);
    assert.match(fn.message, /^Unresolved tag: tag:yaml\.org,2002:js\/function/);
    const custom = issueOf(src('threads:', '  a:', '    - open: { device: !foo gpu0, as: d }'));
    assert.deepEqual([custom.line, custom.column, custom.message], [7, 23, 'Unresolved tag: !foo']);
    const top = issuesOf(`!!python/object:os.system\n${src('threads: { a: [] }')}`);
    assert.ok(top.every((i) => i.line >= 1 && i.column >= 1));
    assert.equal(g.pwned, undefined);
  });

  test('an alias bomb (billion laughs) is refused quickly with a clear error', () => {
    const levels = 'abcdefghi'.split('');
    const lines = ['x0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < levels.length; i++)
      lines.push(
        `x${i}: &x${i} [${Array(9)
          .fill(`*x${i - 1}`)
          .join(', ')}]`,
      );
    const started = performance.now();
    const i = issueOf(`${lines.join('\n')}\n`);
    assert.ok(performance.now() - started < 1000, 'refused within a second');
    assert.deepEqual([i.line, i.column, i.field], [1, 1, '']);
    assert.match(i.message, /alias/i);
    assert.match(i.message, /resource exhaustion/);
  });

  test('merge keys are not merged: `<<` is an unknown key', () => {
    const issues = issuesOf(
      src('threads:', '  a:', '    - open: &o { device: gpu0, as: d }', '    - open: { <<: *o, as: e }'),
    );
    assert.deepEqual(issues.map(at), [
      [8, 13, 'threads.a[1].open.device', 'missing required field `device`', undefined],
      [8, 15, 'threads.a[1].open.<<', 'unknown key `<<`', undefined],
    ]);
  });
});

describe('handles waited for', () => {
  test('a handle created by another thread is waited for; one made earlier in the same thread is not', () => {
    const sc = parseScenario(
      src(
        'setup:',
        '  - open: { device: gpu0, as: dev }',
        'threads:',
        '  a:',
        '    - iommufd: { as: ictx }',
        '    - ioas: { iommufd: ictx, as: io }',
        '    - attach: { fd: dev, ioas: io }',
        '  b:',
        '    - ioas: { iommufd: ictx, as: io2 }',
        '    - reset: { fd: dev }',
      ),
      FILE,
    );
    assert.deepEqual(sc.waited, ['main/ictx']);
    const [a, b] = sc.threads;
    assert.deepEqual(
      a!.ops.map((o) => WAITS.get(o)),
      [undefined, undefined, undefined],
      'made earlier in the same thread, or in setup: no wait',
    );
    assert.deepEqual(
      b!.ops.map((o) => WAITS.get(o)),
      [['main/ictx'], undefined],
    );
  });

  test('handles are per process: another process waits for what it is sent', () => {
    const sc = parseScenario(
      src(
        'processes: { vmm: [a], guest: [b] }',
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: dev }',
        '    - send: { fd: dev, to: guest, as: got }',
        '  b:',
        '    - reset: { fd: got }',
      ),
      FILE,
    );
    assert.deepEqual(sc.waited, ['guest/got']);
    assert.deepEqual(WAITS.get(sc.threads[1]!.ops[0]!), ['guest/got']);
    const other = issueOf(
      src(
        'processes: { vmm: [a], guest: [b] }',
        'threads:',
        '  a:',
        '    - open: { device: gpu0, as: dev }',
        '  b:',
        '    - reset: { fd: dev }',
      ),
    );
    assert.deepEqual(
      [other.line, other.field, other.message],
      [10, 'threads.b[0].reset.fd', 'no handle `dev` in process guest: nothing creates it with `as: dev`'],
    );
  });
});
