// The package can be used as a library by name, through its exports map.

import assert from 'node:assert/strict';
import { test } from 'node:test';

test('vfio-dmabuf-model and vfio-dmabuf-model/sched resolve by name and export the explorer', async () => {
  // Names in variables: the type checker runs before dist/ exists and must not resolve them.
  const rootName = 'vfio-dmabuf-model';
  const schedName = `${rootName}/sched`;
  const root = (await import(rootName)) as Record<string, unknown>;
  const sched = (await import(schedName)) as Record<string, unknown>;
  for (const m of [root, sched]) {
    for (const name of ['Cell', 'Mutex', 'RwSem', 'Completion', 'Violation', 'explore', 'replay']) {
      assert.equal(typeof m[name], 'function', name);
    }
  }
  assert.equal(root.explore, sched.explore);
});
