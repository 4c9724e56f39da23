// The playground in a real browser (Debian's chromium, driven by playwright-core), served over http
// from a folder this test builds with scripts/build-playground.mjs (workers need http, not file://):
// a link runs its scenario and shows the violation in the matrix and the counterexample panels (race
// diagram, sequence diagram, memory map); an
// error typed into the editor is shown at its line and column; a link whose names carry markup runs
// nothing, loads nothing from elsewhere and shows the names as text.
//
// Needs /usr/bin/chromium (`npm test` installs it: scripts/system-deps.sh). VDM_SKIP_BROWSER=1
// skips these tests; without it a missing browser is a failure, not a skip.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { encodeFragment, type PlaygroundState } from '../../src/playground/fragment.js';
import { launchChromium, requireBrowser, skipBrowser } from '../helpers/chromium.js';

const skip = skipBrowser;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EXAMPLE = 'reset-races-fault.yaml';
const exampleText = readFileSync(join(ROOT, 'examples', EXAMPLE), 'utf8');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

let browser: Browser | undefined;
let server: Server | undefined;
let origin = '';
const dir = mkdtempSync(join(tmpdir(), 'vdm-playground-'));

before(async () => {
  // The bundle is built here, from the sources, so the test never sees a stale one.
  const { buildPlayground } = await import(pathToFileURL(join(ROOT, 'scripts', 'build-playground.mjs')).href);
  await buildPlayground(dir);
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path === '/' ? 'index.html' : path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
  rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  /** Every URL requested, in order; only the playground's own files are let through. */
  requests: string[];
  errors: string[];
  dialogs: string[];
}

const OWN_FILES = ['index.html', 'app.js', 'worker.js', 'report.css', 'playground.css'].map((f) => `/${f}`);

async function open(b: Browser, fragment: string): Promise<Opened> {
  const page = await b.newPage({ viewport: { width: 1400, height: 1000 } });
  const requests: string[] = [];
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    return u.origin === origin && OWN_FILES.includes(u.pathname) ? route.continue() : route.abort();
  });
  await page.goto(`${origin}/index.html${fragment ? `#${fragment}` : ''}`, { waitUntil: 'load' });
  return { page, requests, errors, dialogs };
}

function link(s: Partial<PlaygroundState> & { scenario: string }): string {
  return encodeFragment({ file: EXAMPLE, options: {}, mode: 'check', run: true, ...s });
}

/** Only the playground's own files were requested. */
function ownRequestsOnly(requests: string[]): void {
  for (const r of requests) {
    const u = new URL(r);
    assert.ok(u.origin === origin && OWN_FILES.includes(u.pathname), `unexpected request ${r}`);
  }
}

test('a link runs its scenario: the violation in the summary, the matrix and every counterexample panel', {
  skip,
  timeout: 60_000,
}, async () => {
  const b = requireBrowser(browser);
  const { page, requests, errors } = await open(
    b,
    link({ scenario: exampleText, design: 'v5.7', mode: 'compare' }),
  );
  try {
    await page.locator('#results').waitFor({ state: 'visible', timeout: 45_000 });
    assert.match((await page.locator('#progress').textContent()) ?? '', /^done: v5\.7, \d+ executions/);
    assert.equal(await page.locator('#verdict').textContent(), 'fail');
    assert.match(
      (await page.locator('#summary').textContent()) ?? '',
      /MMIO_WHILE_DISABLED: cpu \(vmm\) read gpu0/,
    );
    // The matrix, as the HTML report draws it: the v5.7 row is the checked one and shows the hit.
    const row = page.locator('#matrix tr.current');
    assert.equal(await row.locator('th').textContent(), 'v5.7');
    const headers = await page.locator('#matrix thead th').allTextContents();
    const col = headers.indexOf('MMIO_WHILE_DISABLED');
    assert.ok(col > 0, headers.join(' '));
    assert.match((await row.locator('> *').nth(col).getAttribute('class')) ?? '', /\bhit\b/);
    assert.equal(await page.locator('#matrix tr', { hasText: 'upstream' }).locator('td.hit').count(), 0);
    // The counterexample: the text panel, the sequence diagram and the memory map.
    assert.equal(await page.locator('#counterexample-title').textContent(), 'Counterexample');
    assert.equal(await page.locator('#race-heading').textContent(), 'Race diagram');
    const diagram = (await page.locator('#race-diagram').textContent()) ?? '';
    assert.match(diagram, /^CPU0 \(vmm\) +CPU1 \(admin\)\n/);
    assert.match(diagram, /<- MMIO_WHILE_DISABLED/);
    assert.ok(await page.locator('#counterexample #sequence-svg').isVisible());
    assert.match(
      (await page.locator('#counterexample').textContent()) ?? '',
      /vdm replay reset-races-fault\.yaml --design v5\.7 --schedule/,
    );
    assert.ok((await page.locator('#memory-map #memory-map-svg g.leaf-run').count()) > 0);
    // The link field reopens the same thing.
    assert.match(await page.locator('#link').inputValue(), /#s=.*&d=v5\.7&m=compare&run=1$/);
    ownRequestsOnly(requests);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('an error typed into the editor is shown at its line and column, as the CLI prints it', {
  skip,
  timeout: 45_000,
}, async () => {
  const b = requireBrowser(browser);
  const { page, errors } = await open(b, '');
  try {
    // The default example is loaded and has no error.
    await page.locator('.cm-content', { hasText: 'reset races a fault' }).waitFor();
    assert.equal(await page.locator('#example').inputValue(), EXAMPLE);
    // The text ends with a newline: the cursor at its end is on an empty last line.
    const line = exampleText.split('\n').length + 1;
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\nchek: 1');
    // The text is checked again after each pause in typing; the last check has the whole line.
    await page.locator('#issues li', { hasText: 'unknown key' }).waitFor({ state: 'visible' });
    assert.deepEqual(await page.locator('#issues li').allTextContents(), [
      `${EXAMPLE}:${line}:1: chek: unknown key \`chek\` — did you mean \`check\`?`,
    ]);
    // The editor marks the place too.
    assert.equal(await page.locator('.cm-lintRange-error').first().textContent(), 'chek');
    // Run (Ctrl-Enter in the editor) says the scenario has an error, and shows no result.
    await page.keyboard.press('Control+Enter');
    await page.locator('#progress', { hasText: 'the scenario has 1 error' }).waitFor();
    assert.ok(await page.locator('#results').isHidden());
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('the names in a linked scenario are text: no script runs, nothing is loaded from elsewhere', {
  skip,
  timeout: 45_000,
}, async () => {
  const b = requireBrowser(browser);
  const name = `<script>window.__pwned=1</script>"'><img src=x onerror="window.__pwned=2">`;
  const device = `gpu"'><img src=//example.invalid/x onerror=alert(1)>`;
  const vmm = `vmm<script>alert(2)</script>`;
  const admin = `adm"'><svg onload=alert(3)>`;
  const q = JSON.stringify;
  const scenario = exampleText
    .replace('name: reset races a fault', `name: ${q(name)}`)
    .replaceAll('gpu0', q(device))
    .replaceAll('vmm', q(vmm))
    .replaceAll('admin', q(admin));
  const fragment = link({ scenario, design: 'v5.7', file: EXAMPLE }).replace(
    `f=${EXAMPLE}`,
    `f=${encodeURIComponent('"><img src=x onerror=alert(4)>.yaml')}`,
  );
  const { page, requests, errors, dialogs } = await open(b, fragment);
  try {
    await page.locator('#results').waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await page.locator('#results-title').textContent(), name);
    assert.match((await page.locator('#summary').textContent()) ?? '', /MMIO_WHILE_DISABLED/);
    assert.ok(((await page.locator('#summary').textContent()) ?? '').includes(device));
    // The race diagram names the tasks in its column heads: text, not markup.
    const diagram = (await page.locator('#race-diagram').textContent()) ?? '';
    assert.ok(diagram.includes('<- MMIO_WHILE_DISABLED'), diagram);
    assert.ok(diagram.split('\n')[0]!.includes('CPU0 (vmm<script>'), diagram);
    assert.equal(await page.locator('#race-diagram *').count(), 0);
    // The lanes of the sequence diagram are named by the threads, as text.
    const lanes = await page
      .locator('#counterexample .sq-lane-head + text, #counterexample text')
      .allTextContents();
    assert.ok(
      lanes.some((t) => t.includes('vmm<script>')),
      'a lane named by the hostile thread',
    );
    assert.equal(
      await page.locator('#notes li').textContent(),
      'the link’s file name was replaced by scenario.yaml',
    );
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined', 'an injected script ran');
    assert.deepEqual(dialogs, []);
    assert.equal(await page.locator('img, iframe, object, embed, main script, main svg[onload]').count(), 0);
    assert.equal(await page.locator('script').count(), 1);
    ownRequestsOnly(requests);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('an example is one choice away; a design, an option and completion from the schema', {
  skip,
  timeout: 45_000,
}, async () => {
  const b = requireBrowser(browser);
  const { page, errors } = await open(b, '');
  try {
    await page.locator('.cm-content', { hasText: 'reset races a fault' }).waitFor();
    const names = await page.locator('#example option').allTextContents();
    assert.ok(names.includes('v5.8-pread-lock-order.yaml') && names.length > 40, names.join(' '));
    await page.locator('#example').selectOption('v5.8-pread-lock-order.yaml');
    const text = readFileSync(join(ROOT, 'examples', 'v5.8-pread-lock-order.yaml'), 'utf8');
    const firstLine = text.split('\n')[0]!;
    await page.locator('.cm-line', { hasText: firstLine }).first().waitFor();
    // A design and one of its options: the link carries both.
    await page.locator('#design').selectOption('v6.19');
    await page.locator('.pg-options summary').click();
    await page.locator('#options select[name="closeOrder"]').selectOption('cleanup-first');
    await page.locator('#copy-link').click();
    const url = await page.locator('#link').inputValue();
    assert.match(url, /&f=v5\.8-pread-lock-order\.yaml&d=v6\.19&o=closeOrder%3Dcleanup-first&m=check&run=1$/);
    // Completion: the strategies after `strategy: `, from the JSON Schema.
    await page.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\ncheck: { strategy: ');
    await page.keyboard.press('Control+Space');
    const options = page.locator('.cm-tooltip-autocomplete li');
    // Typing the key may have opened the key completions first: wait for the values' list.
    await page.locator('.cm-tooltip-autocomplete li', { hasText: 'exhaustive' }).first().waitFor();
    assert.deepEqual((await options.allTextContents()).sort(), ['dpor', 'exhaustive', 'pct', 'random']);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
