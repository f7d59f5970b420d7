/**
 * The consent flow in a real browser (Debian's Chromium through playwright-core): the person signs in to
 * the broker through the development identity provider (the broker's real sign-in, OIDC code + PKCE),
 * is sent to the SaaS, signs in there and allows access on its real pages, and comes back connected.
 */
import type Koa from 'koa';
import { type Browser } from 'playwright-core';
import { chromiumAvailable, launchChromium } from '../../support/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevIdentityProvider, DEV_CONSOLE_CLIENT_ID, DEV_ROLES_CLAIM } from '../../../src/dev/dev-identity-provider.js';
import { createLogger } from '../../../src/log.js';
import { close, listen, serve } from '../../../src/server/listen.js';
import { createSignIn, MemorySessionStore } from '../../../src/sign-in/index.js';
import { personSignInFrom } from '../../../src/upstream/connect/console-sign-in.js';
import { isUpstreamFailure } from '../../../src/upstream/connector.js';
import { SAAS_USERS } from '../../support/vault-saas.js';
import { startVaultBed, TOOL, type VaultBed } from '../../support/vault-bed.js';

const haveChromium = chromiumAvailable('the browser consent test is');

describe.runIf(haveChromium)('consent flow in Chromium', () => {
  let bed: VaultBed;
  let browser: Browser;

  beforeAll(async () => {
    bed = await startVaultBed({
      personSignIn: async (broker) => {
        const idpListener = await listen(undefined, '127.0.0.1', 0);
        const issuer = `http://127.0.0.1:${String(idpListener.port)}`;
        const idp = await createDevIdentityProvider({ issuer, audience: broker, signInRedirectUris: [`${broker}/signin/callback`] });
        serve(idpListener.server, idp.callback());
        const signIn = createSignIn({
          baseUrl: broker, provider: { issuer, clientId: DEV_CONSOLE_CLIENT_ID }, rolesClaim: DEV_ROLES_CLAIM,
          store: new MemorySessionStore(), log: createLogger('silent'),
        });
        const routes = signIn.routes() as Koa.Middleware;
        return { signIn: personSignInFrom(signIn), routes, close: async () => { signIn.close(); await close(idpListener.server, 0); } };
      },
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await bed.close();
  });

  it('signs in at the broker, consents at the SaaS, comes back connected; the credential then works', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${bed.broker}/connect/${TOOL}`);
      // The broker's sign-in sent us to the development identity provider's login page.
      await page.fill('#username', 'alice');
      await page.fill('#password', 'alice-dev-password');
      await Promise.all([page.waitForURL((u) => u.origin === bed.saas.issuer), page.click('button[type=submit]')]);
      // Signed in at the broker and back at /connect/crm, which sent us to the SaaS: its login, then its consent.
      await page.fill('#username', 'alice');
      await page.fill('#password', SAAS_USERS.alice!);
      await page.click('#sign-in');
      await expect.poll(() => page.locator('#scopes').textContent()).toBe('crm.read crm.write');
      await Promise.all([page.waitForURL((u) => u.href.startsWith(`${bed.broker}/connect/${TOOL}/callback`)), page.click('#allow')]);
      expect(await page.locator('#title').textContent()).toBe('Connected');
      // The person's list shows it (same browser, same session).
      const answer = await page.goto(`${bed.broker}/connect`);
      const list = await answer!.json() as { connections: { tool: string }[] };
      expect(list.connections.map((c) => c.tool)).toEqual([TOOL]);
    } finally {
      await page.close();
    }
    const result = await bed.vault.obtain({ user: { sub: 'alice', upstreamSubject: 'alice', issuer: 'x' }, tool: TOOL, upstreamScopes: ['crm.read'], brokerTokenJti: 'j', nowMs: Date.now() });
    expect(isUpstreamFailure(result)).toBe(false);
  }, 60_000);
});
