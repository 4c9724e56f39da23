// vdm check --queue / vdm worker: the same split as --workers, as BullMQ jobs on a real Redis
// server on loopback with two worker processes; the result equals one local search.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const env = { ...process.env, CI: 'true' };
const vdm = (...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
const skip = process.env.VDM_SKIP_REDIS === '1';
const port = 20000 + (process.pid % 20000);
const url = `redis://127.0.0.1:${port}`;
const children: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  assert.ok(
    hasRedis,
    'redis-server is needed for this test: apt-get install -y redis-server (CI installs it)',
  );
  const redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  children.push(redis);
  for (let i = 0; i < 100; i++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG')
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (let i = 0; i < 2; i++) {
    children.push(spawn(process.execPath, [main, 'worker', '--queue', url], { stdio: 'ignore', env }));
  }
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
});

test('an exhaustive check spread over two vdm workers through Redis equals a local one', { skip }, () => {
  const file = fileURLToPath(new URL('../../../examples/v6.19-revoke-only-notifies.yaml', import.meta.url));
  const args = ['check', file, '--strategy', 'exhaustive', '--max-executions', '1000000', '--json'];
  const local = JSON.parse(vdm(...args).out);
  const remote = vdm(...args, '--queue', url, '--queue-split', '12');
  assert.equal(remote.code, local.verdict === 'pass' ? 0 : 1, remote.err);
  assert.doesNotMatch(remote.err, /Warning/);
  const r = JSON.parse(remote.out);
  assert.equal(r.executions, local.executions);
  assert.equal(r.complete, true);
  const ids = (x: { violations: { invariant: string; message: string; count: number }[] }) =>
    x.violations.map((v) => `${v.invariant}:${v.message}:${v.count}`).sort();
  assert.deepEqual(ids(r), ids(local));
});

test('a swarm over the queue reports its runs and coverage', { skip }, () => {
  const file = fileURLToPath(new URL('../../../examples/reset-races-fault.yaml', import.meta.url));
  const viaQueue = JSON.parse(
    vdm('check', file, '--design', 'v5.7', '--swarm', '3', '--max-executions', '40', '--queue', url, '--json')
      .out,
  );
  const local = JSON.parse(
    vdm(
      'check',
      file,
      '--design',
      'v5.7',
      '--swarm',
      '3',
      '--max-executions',
      '40',
      '--workers',
      '1',
      '--json',
    ).out,
  );
  assert.equal(viaQueue.executions, 120);
  assert.deepEqual(viaQueue.coverage, local.coverage);
});

test('a bad queue address is exit 2', () => {
  const file = fileURLToPath(new URL('../../../examples/reset-races-fault.yaml', import.meta.url));
  const r = vdm('check', file, '--strategy', 'exhaustive', '--queue', 'http://nope');
  assert.equal(r.code, 2);
  assert.match(r.err, /expected redis:\/\/HOST:PORT/);
});

test('vdm hunt --queue: the programs run on the vdm workers, as on local workers', { skip }, () => {
  const out = fileURLToPath(new URL(`../../../.hunt-queue-test-${process.pid}`, import.meta.url));
  const args = [
    'hunt',
    '--design',
    'v5.7',
    '--seed',
    '9',
    '--programs',
    '12',
    '--max-executions',
    '50',
    '--no-shrink',
    '--json',
  ];
  try {
    const remote = vdm(...args, '--queue', url, '--workers', '2', '--out', `${out}-q`);
    assert.ok(remote.code === 0 || remote.code === 1, remote.err);
    const r = JSON.parse(remote.out);
    assert.equal(r.stats.programs, 12);
    assert.ok(r.stats.executions > 12);
    assert.ok(r.stats.blocks > 100, 'each job carries its program\u2019s coverage back');
  } finally {
    spawnSync('rm', ['-rf', `${out}-q`]);
  }
});
