// The HTML report in a real browser (Debian's chromium, driven by playwright-core): opened from a
// file, it requests nothing but itself, logs no error, shows every section, draws both diagrams,
// and the script injected through the scenario never runs. Writes a screenshot to /tmp/report.png.
//
// Needs /usr/bin/chromium (`npm test` installs it: scripts/system-deps.sh). VDM_SKIP_BROWSER=1
// skips these tests; without it a missing browser is a failure, not a skip.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { renderHtmlReport } from '../../src/report/html.js';
import { launchChromium, requireBrowser, skipBrowser } from '../helpers/chromium.js';
import { makeInput, PWN_SCRIPT } from './html-fixture.js';

const skip = skipBrowser;
const SCREENSHOT = '/tmp/report.png';
const SECTIONS = ['summary', 'scenario', 'memory-map', 'counterexample', 'matrix', 'statistics'];

let browser: Browser | undefined;
const dir = mkdtempSync(join(tmpdir(), 'vdm-html-'));

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  page: Page;
  url: string;
  requests: string[];
  errors: string[];
}

/** Writes the report to a file and opens it; every request is recorded and none leaves the file. */
async function open(b: Browser, name: string, html: string): Promise<Opened> {
  const file = join(dir, name);
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;
  const page = await b.newPage({ viewport: { width: 1400, height: 1000 } });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // Whatever happens, nothing reaches the network.
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url, { waitUntil: 'load' });
  return { page, url, requests, errors };
}

test('the report opens offline: no request, no error, every section shown, no injected script run', {
  skip,
  timeout: 30_000,
}, async () => {
  const b = requireBrowser(browser);
  const input = makeInput({ compare: true, hostile: true });
  const { page, url, requests, errors } = await open(b, 'hostile.html', renderHtmlReport(input));
  try {
    assert.deepEqual(requests, [url]);
    assert.deepEqual(errors, []);
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined', 'the injected script ran');
    assert.equal(await page.locator('script, img, iframe, object, embed, link').count(), 0);
    // The hostile text is shown as text.
    assert.equal(await page.title(), `${input.title} — vdm report`);
    assert.ok((await page.locator('#scenario pre').textContent())!.includes(PWN_SCRIPT));
    assert.equal(await page.locator('#scenario pre').textContent(), input.source.replace(/\n$/, ''));

    for (const id of SECTIONS) {
      const heading = page.locator(`section#${id} > h2`);
      assert.ok(await page.locator(`section#${id}`).isVisible(), `section ${id}`);
      assert.ok(await heading.isVisible(), `heading of ${id}`);
      assert.ok(((await heading.textContent()) ?? '').trim().length > 0);
    }
    for (const svg of ['#memory-map-svg', '#sequence-svg']) {
      const box = await page.locator(svg).boundingBox();
      assert.ok(box && box.width > 200 && box.height > 100, `${svg}: ${JSON.stringify(box)}`);
    }
    // The diagrams have their content: leaf runs with lines, one lane per thread, hand-off arrows.
    assert.ok((await page.locator('#memory-map-svg g.leaf-run').count()) > 5);
    assert.equal(await page.locator('.sq-head .sq-lane-head').count(), 4);
    assert.equal(await page.locator('#sequence-svg g.handoff').count(), 2);
    // A violation in the matrix says its counterexample on hover.
    const hit = page.locator('#matrix td.hit').first();
    assert.match((await hit.getAttribute('title')) ?? '', /shortest counterexample: \d+ events/);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  } finally {
    await page.close();
  }
});

test('without a comparison there is no matrix, and the page still loads nothing', {
  skip,
  timeout: 30_000,
}, async () => {
  const b = requireBrowser(browser);
  const { page, url, requests, errors } = await open(b, 'plain.html', renderHtmlReport(makeInput()));
  try {
    assert.deepEqual(requests, [url]);
    assert.deepEqual(errors, []);
    assert.equal(await page.locator('#matrix').count(), 0);
    for (const id of SECTIONS.filter((s) => s !== 'matrix')) {
      assert.ok(await page.locator(`section#${id} > h2`).isVisible(), id);
    }
    // The step table opens and lists every step.
    await page.locator('#counterexample details > summary').click();
    assert.equal(await page.locator('#counterexample table.steps tbody tr:not(.mark)').count(), 42);
  } finally {
    await page.close();
  }
});
