// Debian's Chromium for the browser tests (the HTML report, the playground), driven by
// playwright-core: `npm test` installs it (scripts/system-deps.sh test).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Set to skip the browser tests on a machine that cannot have Chromium: the reason, else false. */
export const skipBrowser = process.env.VDM_SKIP_BROWSER === '1' ? 'VDM_SKIP_BROWSER=1' : false;

/** A headless Chromium that talks to nothing but the pages it is given, or undefined when skipped or missing. */
export async function launchChromium(): Promise<Browser | undefined> {
  if (skipBrowser || !existsSync(CHROMIUM)) return undefined;
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** The launched browser, or a test failure that says how to get one. */
export function requireBrowser(browser: Browser | undefined): Browser {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} not found: run \`apt-get install -y chromium\` (or set VDM_SKIP_BROWSER=1 to skip the browser tests)`,
  );
  assert.ok(browser, 'chromium did not start');
  return browser;
}
