/** The consent flow over real HTTP, through the SaaS's real login and consent pages (issue 17). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUpstreamFailure, type UpstreamRequest } from '../../../src/upstream/connector.js';
import { SAAS_USERS } from '../../support/vault-saas.js';
import { connectThroughPages, CookieClient, startVaultBed, TOOL, type VaultBed } from '../../support/vault-bed.js';

function request(sub: string, scopes: readonly string[]): UpstreamRequest {
  return { user: { sub, upstreamSubject: sub, issuer: 'https://idp.example' }, tool: TOOL, upstreamScopes: scopes, brokerTokenJti: 'jti-1', nowMs: Date.now(), agent: 'demo-agent' };
}

describe('consent flow /connect/<tool>', () => {
  let bed: VaultBed;
  beforeAll(async () => { bed = await startVaultBed(); });
  afterAll(async () => { await bed.close(); });

  it('a user who has not connected gets not_connected with the URL to connect', async () => {
    const result = await bed.vault.obtain(request('carol', ['crm.read']));
    expect(result).toEqual({ failure: 'not_connected', connectUrl: `${bed.broker}/connect/${TOOL}` });
  });

  it('sends a person who is not signed in to sign in first', async () => {
    const response = await new CookieClient().request(`${bed.broker}/connect/${TOOL}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`/test-only/sign-in?return_to=${encodeURIComponent(`/connect/${TOOL}`)}`);
  });

  it('redirects to the SaaS authorization endpoint with code + PKCE S256, state and the exact redirect URI', async () => {
    const client = new CookieClient();
    await client.follow(`${bed.broker}/test-only/sign-in?sub=alice`);
    const response = await client.request(`${bed.broker}/connect/${TOOL}`);
    expect(response.status).toBe(302);
    const target = new URL(response.headers.get('location')!);
    expect(target.origin).toBe(bed.saas.issuer);
    expect(target.searchParams.get('response_type')).toBe('code');
    expect(target.searchParams.get('code_challenge_method')).toBe('S256');
    expect(target.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/u);
    expect(target.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/u);
    expect(target.searchParams.get('redirect_uri')).toBe(`${bed.broker}/connect/${TOOL}/callback`);
    expect(target.searchParams.get('scope')).toBe('crm.read crm.write');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('connects through the real login and consent pages, then obtains a narrowed access token', async () => {
    const page = await connectThroughPages(bed, 'alice', SAAS_USERS.alice!);
    expect(page.response.status).toBe(200);
    expect(page.text, page.text + bed.logs()).toContain("Connected");
    expect(bed.saas.counts.codeExchanged).toBe(1);
    expect(bed.records.map((r) => r.action)).toContain('vault.connect');

    const result = await bed.vault.obtain(request('alice', ['crm.read']));
    if (isUpstreamFailure(result)) throw new Error(`no credential: ${JSON.stringify(result)}`);
    expect(result.tokenType.toLowerCase()).toBe('bearer');
    expect(result.scopes).toEqual(['crm.read']);
    expect(result.expiresAtMs).toBeGreaterThan(Date.now());
    // Cached: the same token again, no second refresh.
    const refreshes = bed.saas.counts.refreshed;
    const again = await bed.vault.obtain(request('alice', ['crm.read']));
    expect(again).toEqual(result);
    expect(bed.saas.counts.refreshed).toBe(refreshes);
  });

  it('completes when the browser does not send the (SameSite=Strict) session back from the SaaS: the binding cookie names the person', async () => {
    const page = await connectThroughPages(bed, 'dave', SAAS_USERS.dave!, new CookieClient(), { dropSessionAtSaas: true });
    expect(page.response.status).toBe(200);
    expect(page.text).toContain('Connected');
    expect((await bed.store.get({ user: 'dave', tool: TOOL, upstream: bed.saas.issuer }))?.meta.user).toBe('dave');
  });

  it('lists the person\'s connections, never a token', async () => {
    const client = new CookieClient();
    await client.follow(`${bed.broker}/test-only/sign-in?sub=alice`);
    const response = await client.request(`${bed.broker}/connect`);
    expect(response.status).toBe(200);
    const body = await response.json() as { connections: { tool: string; scopes: string[] }[] };
    expect(body.connections).toEqual([expect.objectContaining({ tool: TOOL, upstream: bed.saas.issuer, scopes: ['crm.read', 'crm.write'] })]);
    expect(JSON.stringify(body)).not.toMatch(/token/iu);
    const anonymous = await new CookieClient().request(`${bed.broker}/connect`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'login_required', error_description: 'sign in to the broker first' });
  });

  it('refuses a callback replayed in another session (state bound to the person and the browser)', async () => {
    const victim = new CookieClient();
    await victim.follow(`${bed.broker}/test-only/sign-in?sub=bob`);
    // The attacker starts a consent, signs in at the SaaS as themselves, and stops before the callback.
    const attacker = new CookieClient();
    await attacker.follow(`${bed.broker}/test-only/sign-in?sub=mallory`);
    let page = await attacker.follow(`${bed.broker}/connect/${TOOL}`);
    page = await attacker.follow(new URL(/action="([^"]+)"/u.exec(page.text)![1]!, page.url), { method: 'POST', form: { username: 'alice', password: SAAS_USERS.alice! } });
    const consent = await attacker.request(new URL(/action="([^"]+)"/u.exec(page.text)![1]!, page.url), { method: 'POST', form: {} });
    let location = new URL(consent.headers.get('location')!, page.url);
    while (location.origin === bed.saas.issuer) {
      const hop = await attacker.request(location);
      location = new URL(hop.headers.get('location')!, location);
    }
    expect(location.pathname).toBe(`/connect/${TOOL}/callback`);
    // The victim is made to open the attacker's callback URL: nothing is connected for the victim.
    const landed = await victim.follow(location);
    expect(landed.response.status).toBe(400);
    expect(landed.text).toContain('not started in this session');
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
    // And the state was single-use: the attacker cannot complete it afterwards either.
    const late = await attacker.follow(location);
    expect(late.response.status).toBe(400);
    expect(late.text).toContain('unknown, expired or already used');
    expect(await bed.store.get({ user: 'mallory', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
  });

  it('refuses a callback opened in another browser of the same person (state bound to the browser)', async () => {
    const started = new CookieClient();
    await started.follow(`${bed.broker}/test-only/sign-in?sub=carol`);
    let page = await started.follow(`${bed.broker}/connect/${TOOL}`);
    page = await started.follow(new URL(/action="([^"]+)"/u.exec(page.text)![1]!, page.url), { method: 'POST', form: { username: 'carol', password: SAAS_USERS.carol! } });
    const consent = await started.request(new URL(/action="([^"]+)"/u.exec(page.text)![1]!, page.url), { method: 'POST', form: {} });
    let location = new URL(consent.headers.get('location')!, page.url);
    while (location.origin === bed.saas.issuer) {
      const hop = await started.request(location);
      location = new URL(hop.headers.get('location')!, location);
    }
    const other = new CookieClient();
    await other.follow(`${bed.broker}/test-only/sign-in?sub=carol`);
    const landed = await other.follow(location);
    expect(landed.response.status).toBe(400);
    expect(landed.text).toContain('not started in this browser');
    expect(await bed.store.get({ user: 'carol', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
  });

  it('a denied consent connects nothing', async () => {
    const client = new CookieClient();
    await client.follow(`${bed.broker}/test-only/sign-in?sub=bob`);
    let page = await client.follow(`${bed.broker}/connect/${TOOL}`);
    page = await client.follow(new URL(/action="([^"]+)"/u.exec(page.text)![1]!, page.url), { method: 'POST', form: { username: 'bob', password: SAAS_USERS.bob! } });
    const deny = /<form method="post" action="([^"]+\/abort)"/u.exec(page.text)![1]!;
    const result = await client.follow(new URL(deny, page.url), { method: 'POST', form: {} });
    expect(result.response.status).toBe(400);
    expect(result.text).toContain('access_denied');
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
  });

  it('disconnect deletes the connection and revokes it at the SaaS (RFC 7009)', async () => {
    const client = new CookieClient();
    await connectThroughPages(bed, 'bob', SAAS_USERS.bob!, client);
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeDefined();
    const revoked = bed.saas.counts.revoked;
    const crossSite = await client.request(`${bed.broker}/connect/${TOOL}`, { method: 'DELETE', headers: { origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeDefined();
    const response = await client.request(`${bed.broker}/connect/${TOOL}`, { method: 'DELETE', headers: { origin: bed.broker } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ tool: TOOL, disconnected: true, revoked_at_saas: 'revoked' });
    expect(bed.saas.counts.revoked).toBe(revoked + 1);
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
    expect(await bed.vault.obtain(request('bob', ['crm.read']))).toEqual({ failure: 'not_connected', connectUrl: `${bed.broker}/connect/${TOOL}` });
    expect(bed.records.map((r) => r.action)).toContain('vault.disconnect');
    const again = await client.request(`${bed.broker}/connect/${TOOL}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
  });

  it('no token of any kind appears in the logs or the records', () => {
    const text = bed.logs() + JSON.stringify(bed.records);
    expect(text).not.toMatch(/refresh_token|access_token|accessToken|refreshToken/u);
    expect(text).not.toContain(bed.saas.clientSecret);
  });
});
