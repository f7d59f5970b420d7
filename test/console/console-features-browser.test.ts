/**
 * The console's approvals, connections, stages/budgets and reload banner in a real browser (Chromium through
 * playwright-core) against console-bed.ts (sign-in at a real oidc-provider, Redis state and attribution sink,
 * a real SaaS for the vault): an approver approves and the agent's next poll gets its token; a viewer and an
 * operator have no approve button and the API refuses them (403, recorded); an operator disconnects a
 * user's connection; the banner of a refused reload. Screenshots of every page, at 1280 px and on a phone,
 * go to test-artifacts/console/ (gitignored).
 */
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainedRecord } from '../../src/attribution/chain.js';
import { attributionStreamKey } from '../../src/attribution/redis-stream-sink.js';
import { request, signInWithPassword } from '../support/person-login.js';
import { cleanupPrefix, requireRedis, uniquePrefix } from '../support/redis.js';
import { loginAndConsent } from '../support/saas-login.js';
import { SAAS_USERS } from '../support/vault-saas.js';
import { PAY_AGENT, PEOPLE, startConsoleBed, type ConsoleBed } from './console-bed.js';

const ARTIFACTS = resolve(import.meta.dirname, '..', '..', 'test-artifacts', 'console');
const haveChromium = chromiumAvailable('the console browser tests are');
const redisUp = await requireRedis('the console browser tests with Redis');
const prefix = uniquePrefix();
let bed: ConsoleBed;
let browser: Browser;

beforeAll(async () => {
  if (!haveChromium || !redisUp) return;
  await mkdir(ARTIFACTS, { recursive: true });
  bed = await startConsoleBed(prefix);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  if (!haveChromium || !redisUp) return;
  await browser.close();
  await bed.close();
  await cleanupPrefix(prefix);
});

const DESKTOP = { viewport: { width: 1280, height: 860 } };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

async function signedIn(username: string, device: object = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext(device);
  const page = await context.newPage();
  page.setDefaultTimeout(8000);
  const errors: string[] = [];
  page.on('pageerror', (e) => { errors.push(e.message); });
  // The browser's own favicon requests to pages without an icon (the identity provider's) are not the console's.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('403') && !m.location().url.endsWith('/favicon.ico')) errors.push(`${m.text()} ${m.location().url}`); });
  await page.goto(`${bed.url}/console/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PEOPLE.find((p) => p.username === username)?.password ?? '');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${bed.url}/console/**`);
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
  return { context, page, errors };
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

async function records(): Promise<ChainedRecord[]> {
  const entries = await bed.state.redis.xrange(attributionStreamKey('console-bed', prefix), '-', '+');
  return entries.map(([, fields]) => JSON.parse(fields[1] ?? '{}') as ChainedRecord).filter((r) => (r.type as string) !== 'checkpoint');
}

const noHorizontalScroll = (page: Page) => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth + 1');
const sleep = (ms: number) => new Promise<void>((done) => { setTimeout(done, ms); });

describe.runIf(haveChromium && redisUp)('approvals, connections, stages and reloads in a browser', { timeout: 60_000 }, () => {
  it('an approver approves a pending payment in the browser; the agent\'s next poll gets the token', async () => {
    const call = { payee: 'ACME GmbH', amount: '1500.00', currency: 'EUR', reference: 'invoice 42' };
    const asked = await bed.pay(call);
    const askedAt = Date.now();
    const id = String(asked.body.approval_id);
    expect(asked.body).toMatchObject({ error: 'authorization_pending' });
    await bed.pay({ payee: 'Globex Ltd', amount: '2400.00', currency: 'EUR' }); // a second one stays pending

    const { context, page, errors } = await signedIn('alice');
    await page.getByRole('link', { name: 'Approvals', exact: true }).click();
    const row = page.locator(`tr[data-approval-id="${id}"]`);
    await row.getByText('1500.00 EUR', { exact: true }).waitFor();
    await expect.poll(() => row.getByText(/min \d+ s/u).isVisible()).toBe(true);
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.getByLabel('Reason (recorded with your name)').fill('invoice 42 checked against the order');
    await shot(page, '10-approvals-confirm');
    await page.getByRole('button', { name: 'Confirm approve' }).click();
    await page.getByRole('heading', { name: 'Pending (1)' }).waitFor();
    const decided = page.locator(`tr[data-approval-id="${id}"]`);
    await decided.getByText('person:alice').waitFor();
    await decided.getByText('approved', { exact: true }).waitFor();
    await shot(page, '11-approvals');
    expect((await records()).filter((r) => r.type === 'approval' && r.approval_id === id).at(-1)).toMatchObject({ event: 'approved', by: 'person:alice', via: 'console' });

    await sleep(Math.max(0, askedAt + 5_500 - Date.now()));
    const minted = await bed.pay(call, id);
    expect(minted.status).toBe(200);
    expect(typeof minted.body.access_token).toBe('string');
    await page.reload();
    await page.locator(`tr[data-approval-id="${id}"]`).getByText('minted', { exact: true }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  for (const username of ['bob', 'dave']) {
    it(`${username === 'bob' ? 'a viewer' : 'an operator'} sees no approve button, and the API refuses with 403 and a record`, async () => {
      const { context, page } = await signedIn(username);
      await page.getByRole('link', { name: 'Approvals', exact: true }).click();
      const pending = page.locator('tbody tr[data-approval-id]').first();
      await pending.waitFor();
      expect(await page.getByRole('button', { name: /Approve|Reject/u }).count()).toBe(0);
      await pending.getByText('approver role needed').waitFor();
      const id = await pending.getAttribute('data-approval-id');
      // The browser itself, with the session's CSRF token, asks anyway.
      const status = await page.evaluate(async (approval) => {
        const session = await (await fetch('/console/api/session')).json() as { csrf_token: string };
        const res = await fetch(`/console/api/approvals/${approval}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf_token }, body: JSON.stringify({ reason: 'trying' }) });
        return { code: res.status, body: await res.json() as { error: string } };
      }, id);
      expect(status).toEqual({ code: 403, body: expect.objectContaining({ error: 'insufficient_scope' }) as unknown });
      expect((await records()).filter((r) => r.type === 'approval' && r.approval_id === id).at(-1)).toMatchObject({ event: 'decision_refused', by: `person:${username}` });
      await page.reload();
      await page.locator(`tbody tr[data-approval-id="${String(id)}"]`).getByText('approver role needed').waitFor();
      await context.close();
    });
  }

  it('an operator looks up a user\'s connection and disconnects it with a reason', async () => {
    // alice connects the crm tool through the consent flow (her own browser, here a cookie jar).
    const alice = await signInWithPassword(bed.url, 'alice', 'alice-pw', '/console/');
    const start = await request(alice.jar, `${bed.url}/connect/crm`);
    const callback = await loginAndConsent(new URL(start.headers.get('location') ?? ''), { username: 'alice', password: SAAS_USERS.alice ?? '' });
    expect(await (await request(alice.jar, callback.href)).text()).toContain('Connected');

    const { context, page, errors } = await signedIn('dave');
    await page.getByRole('link', { name: 'Connections', exact: true }).click();
    await page.getByLabel('User (sub)').fill('alice');
    await page.getByRole('button', { name: 'Look up' }).click();
    const row = page.getByRole('heading', { name: 'Connections of alice' }).locator('..').locator('tr[data-tool="crm"]');
    await row.waitFor();
    await shot(page, '12-connections');
    await row.getByRole('button', { name: 'Disconnect' }).click();
    await page.getByLabel('Reason (recorded with your name)').fill('offboarding ticket 9');
    await page.getByRole('button', { name: 'Confirm disconnect' }).click();
    await page.getByText('alice has no connections.').waitFor();
    expect((await records()).filter((r) => r.type === 'admin_action' && r.action === 'vault.disconnect').at(-1)).toMatchObject({ by: 'person:dave', reason: 'offboarding ticket 9' });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows an agent\'s stage and budgets; an operator changes the stage after a confirmation', async () => {
    expect((await bed.pay({ payee: 'Shop', amount: '12.50', currency: 'EUR' })).status).toBe(200);
    const { context, page } = await signedIn('alice');
    await page.goto(`${bed.url}/console/#/agents/${PAY_AGENT}`);
    await page.getByRole('heading', { name: 'Rollout stage' }).waitFor();
    await page.getByText(`${PAY_AGENT}/payments`).first().waitFor();
    await page.getByLabel('New stage').selectOption('supervised');
    await page.getByRole('button', { name: 'Change stage…' }).click();
    await page.getByLabel('Reason (recorded with your name)').fill('new payee rules: a person checks writes');
    await shot(page, '13-agent-stage-confirm');
    await page.getByRole('button', { name: 'Confirm stage change' }).click();
    await page.getByText(/set by person:alice/u).waitFor();
    await shot(page, '14-agent-detail');
    await page.getByLabel('New stage').selectOption('autonomous');
    await page.getByRole('button', { name: 'Change stage…' }).click();
    await page.getByLabel('Reason (recorded with your name)').fill('back to normal');
    await page.getByRole('button', { name: 'Confirm stage change' }).click();
    await page.getByText('as the agent file declares').waitFor();
    await context.close();
  });

  it('shows the banner of a refused reload on the overview, and every page at 1280 px', async () => {
    const bad = join(bed.dir, 'scopes', 'broken.yaml');
    await writeFile(bad, 'id: broken\ndescription: x\nresource: https://broken.example/api\nmax_ttl: 5m\nscopes:\n  broken.read: { description: r, risk: extreme, justified_by: [x] }\n');
    const { context, page, errors } = await signedIn('alice');
    try {
      expect((await bed.broker.reloader.reload({ by: 'SIGHUP' })).ok).toBe(false);
      await page.reload();
      const banner = page.getByRole('alert').filter({ hasText: 'Reload refused' });
      await banner.waitFor();
      await banner.getByText(/broken\.yaml/u).first().waitFor();
      await page.getByRole('heading', { name: 'Pending approvals' }).waitFor();
      await shot(page, '15-overview-reload-refused');
    } finally {
      await unlink(bad);
    }
    expect((await bed.broker.reloader.reload({ by: 'SIGHUP' })).ok).toBe(true);
    await page.reload();
    await page.getByRole('heading', { name: 'Configuration in force' }).waitFor();
    expect(await page.getByRole('alert').filter({ hasText: 'Reload refused' }).count()).toBe(0);
    await shot(page, '16-overview');
    for (const [link, heading, name] of [['Agents', 'Agents', '17-agents'], ['Catalog', 'payments', '18-catalog'], ['Explorer', 'Log verification', '19-explorer'], ['Revocations', 'Revocations', '20-revocations']] as const) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading }).waitFor();
      if (link === 'Explorer') await page.getByText(/verified|broken/u).first().waitFor();
      await shot(page, name);
    }
    expect(errors).toEqual([]);
    await context.close();
  });

  it('signs out at the broker and at the identity provider: the next visit asks for the password again', async () => {
    const { context, page, errors } = await signedIn('bob');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign out of the development identity provider?' }).waitFor();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.waitForURL(`${bed.url}/signin/signed-out`);
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();
    await page.goto(`${bed.url}/console/`);
    await page.getByLabel('Password').waitFor();
    expect(new URL(page.url()).origin).toBe(bed.idp);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('is readable on a phone: approvals, connections and an agent without horizontal scrolling', async () => {
    await bed.pay({ payee: 'Phone Test GmbH', amount: '3100.00', currency: 'EUR' });
    const { context, page } = await signedIn('alice', PHONE);
    for (const [path, heading, name] of [['#/approvals', 'Approvals', '21-approvals-phone'], ['#/connections', 'Connections', '22-connections-phone'], [`#/agents/${PAY_AGENT}`, 'Rollout stage', '23-agent-phone'], ['#/overview', 'Overview', '24-overview-phone']] as const) {
      await page.goto(`${bed.url}/console/${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await sleep(300);
      expect(await noHorizontalScroll(page), path).toBe(true);
      await shot(page, name);
    }
    await context.close();
  });
});
