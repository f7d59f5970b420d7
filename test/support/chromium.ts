/**
 * Debian's Chromium for the browser tests (`.ci/run` installs the `chromium` package), driven by playwright-core:
 * headless, no sandbox (containers), no background networking (nothing leaves the machine).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether Chromium is here; in CI its absence is an error, elsewhere the tests named by `what` are skipped, loudly. */
export function chromiumAvailable(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`Chromium is required in CI (${CHROMIUM}); .ci/run installs it`);
  process.stderr.write(`\n!!!!!!!!!! CHROMIUM NOT FOUND at ${CHROMIUM}: ${what} SKIPPED on this machine. !!!!!!!!!!\n\n`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking'] });
}
