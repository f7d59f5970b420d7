/**
 * The console in a real browser (Chromium through playwright-core) against the development default:
 * sign in at the development identity provider, suspend an agent and see its next exchange refused, find a
 * given exchange in the explorer, and a viewer who sees no way to suspend. Screenshots of every page are
 * written to test-artifacts/console/ (gitignored).
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/server/start-broker.js';
import { demoExchange, startDevDefault } from './dev-default.js';

const ARTIFACTS = resolve(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const haveChromium = chromiumAvailable('the console browser tests are');

let running: RunningBroker;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium) return;
  await mkdir(ARTIFACTS, { recursive: true });
  ({ running } = await startDevDefault());
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  if (!haveChromium) return;
  await browser.close();
  await running.stop();
});

async function signIn(page: Page, username: string): Promise<void> {
  await page.goto(`${running.issuer}/console/`);
  // Redirected to the development identity provider's login page.
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(`${username}-dev-password`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${running.issuer}/console/**`);
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

describe.skipIf(!haveChromium)('the console in a browser', { timeout: 60_000 }, () => {
  it('signs the demo operator in, suspends the demo agent, and its next exchange is refused', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const errors: string[] = [];
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => { errors.push(e.message); });

    await page.goto(`${running.issuer}/console/`);
    await page.getByLabel('Username').waitFor();
    await shot(page, '00-login');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('alice-dev-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${running.issuer}/console/**`);
    await expect.poll(() => page.getByText('Alice (demo operator)').isVisible()).toBe(true);

    expect((await demoExchange(running)).status).toBe(200);
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Readiness' }).waitFor();
    await page.reload();
    await page.getByText('shared state (memory)').waitFor();
    await shot(page, '01-overview');

    await page.getByRole('link', { name: 'Agents' }).click();
    const row = page.getByRole('row').filter({ hasText: 'demo-agent' });
    await row.getByRole('button', { name: 'Suspend' }).click();
    await page.getByLabel('Reason (recorded with your name)').fill('browser test: suspected misuse');
    await shot(page, '02-agents-confirm');
    await page.getByRole('button', { name: 'Confirm suspend' }).click();
    await row.getByText('suspended', { exact: true }).waitFor();
    await expect.poll(() => row.getByText('person:alice').isVisible()).toBe(true);
    await shot(page, '03-agents-suspended');

    const refused = await demoExchange(running);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'unauthorized_client' });
    expect(refused.body.access_token).toBeUndefined();

    // Keyboard only: reinstate with Tab/Enter.
    await row.getByRole('button', { name: 'Reinstate' }).focus();
    await page.keyboard.press('Enter');
    await page.keyboard.type('browser test: cleared');
    await page.getByRole('button', { name: 'Confirm reinstate' }).focus();
    await page.keyboard.press('Enter');
    await row.getByText('active', { exact: true }).waitFor();
    expect((await demoExchange(running)).status).toBe(200);
    expect(errors, errors.join('\n')).toEqual([]);
    await context.close();
  });

  it('finds a given exchange in the explorer and shows its place in the hash chain', async () => {
    const granted = await demoExchange(running);
    const { jti } = JSON.parse(Buffer.from(String(granted.body.access_token).split('.')[1] ?? '', 'base64url').toString()) as { jti: string };
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    await signIn(page, 'alice');
    await page.getByRole('link', { name: 'Explorer' }).click();
    await page.getByLabel('Agent').fill('demo-agent');
    await page.getByLabel('User (sub)').fill('alice');
    await page.getByLabel('Decision').selectOption('granted');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/agent=demo-agent/u);
    await page.getByText('Log verification').waitFor();
    await page.getByText(/records, \d+ signed checkpoints|verified/u).first().waitFor();
    await page.getByRole('row').filter({ hasText: 'granted' }).first().waitFor();
    await shot(page, '04-explorer');
    // The newest granted record of alice via demo-agent is the exchange above.
    await page.getByRole('row').filter({ hasText: 'granted' }).first().getByRole('link').click();
    await page.getByText('Place in the hash chain').waitFor();
    await expect.poll(() => page.locator('pre.json').textContent()).toContain(jti);
    await page.getByText('linked', { exact: true }).waitFor();
    await shot(page, '05-record');

    await page.getByRole('link', { name: 'Catalog' }).click();
    await page.getByRole('heading', { name: 'crm' }).waitFor();
    await shot(page, '06-catalog');
    await page.getByRole('link', { name: 'Revocations' }).click();
    await page.getByRole('heading', { name: 'Revocations' }).waitFor();
    await page.getByText(/No live revocation rules|agent:demo-agent/u).first().waitFor();
    await shot(page, '07-revocations');
    await context.close();
  });

  it('shows a viewer no way to suspend, and is readable on a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    await signIn(page, 'bob');
    await page.getByRole('link', { name: 'Agents' }).click();
    const row = page.getByRole('row').filter({ hasText: 'demo-agent' });
    await row.waitFor();
    expect(await page.getByRole('button', { name: /Suspend|Revoke|Reinstate/u }).count()).toBe(0);
    // No horizontal scrolling on a phone.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1')).toBe(true);
    await shot(page, '08-agents-viewer-phone');
    await page.getByRole('link', { name: 'Revocations' }).click();
    await page.getByRole('heading', { name: 'Revocations' }).waitFor();
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await context.close();
  });
});
