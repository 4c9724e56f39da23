// The package as users get it: `npm pack` makes a tarball that, installed into an empty folder,
// gives a working `vdm` with the examples it ships (npm's registry supplies the dependencies).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vdm-pack-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  assert.equal(r.error, undefined, `${cmd} ${args.join(' ')}: ${r.error?.message}`);
  return r;
}

test('npm pack, npm install of the tarball in an empty folder, npx vdm check of a shipped example', () => {
  // dist/ is fresh here (the test command builds before it tests): pack it as is.
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], repo);
  assert.equal(pack.status, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  const files = info!.files.map((f) => f.path);
  assert.ok(files.includes('dist/src/cli/main.js'));
  assert.ok(files.includes('dist/src/cli/search-thread.js'), 'the search thread ships');
  assert.ok(files.includes('examples/reset-races-fault.yaml'), 'the examples ship');
  assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('src/')), 'no tests or sources');
  const app = join(dir, 'app');
  run('mkdir', ['-p', app], dir);
  // A package of its own: without one npm installs into the nearest folder above that has a
  // node_modules or package.json (a stray /tmp/node_modules would take the install).
  writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, info!.filename)],
    app,
  );
  assert.equal(install.status, 0, install.stderr);
  const shipped = join(app, 'node_modules', 'vfio-dmabuf-model', 'examples');
  assert.ok(readdirSync(shipped).includes('reset-races-fault.yaml'));
  const check = run('npx', ['--no-install', 'vdm', 'check', join(shipped, 'reset-races-fault.yaml')], app);
  assert.equal(check.status, 0, check.stderr);
  assert.match(check.stdout, /verdict: pass/);
  // The same package on a design that has the bug: exit 1 and the counterexample.
  const broken = run(
    'npx',
    ['--no-install', 'vdm', 'check', join(shipped, 'reset-races-fault.yaml'), '--design', 'v5.7'],
    app,
  );
  assert.equal(broken.status, 1, broken.stderr);
  assert.match(broken.stdout, /MMIO_WHILE_DISABLED/);
  const list = run('npx', ['--no-install', 'vdm', 'list', 'examples'], app);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /reset-races-fault\.yaml/);
});
