/**
 * The vault when things go wrong: a slow or unreachable SaaS (unavailable within a bounded time), a sealed
 * entry moved to another user (refused by its AAD), scopes wider than the grant, a grant revoked at the
 * SaaS, and the broker's revocations of a user, an agent, a tool (connections deleted and revoked at the
 * SaaS, caches dropped). Logs and records never hold a token.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminActions } from '../../../src/admin/admin-actions.js';
import type { Agent } from '../../../src/domain/agent.js';
import { MemoryState } from '../../../src/state/memory-state.js';
import { isUpstreamFailure, type UpstreamCredential, type UpstreamRequest, type UpstreamResult } from '../../../src/upstream/connector.js';
import { MemoryVaultStore } from '../../../src/upstream/vault/memory-vault-store.js';
import { createSaasClient, type VaultUpstream } from '../../../src/upstream/vault/saas-client.js';
import { obtainBoundMs, Vault, type VaultTool } from '../../../src/upstream/vault/vault.js';
import { purgeVaultOnRevocation } from '../../../src/upstream/vault/vault-revocation.js';
import { testCatalog } from '../../support/catalog.js';
import { SAAS_USERS } from '../../support/vault-saas.js';
import { capturedLogger, connectThroughPages, ringOf, startVaultBed, TOOL, type VaultBed } from '../../support/vault-bed.js';

function request(sub: string, scopes: readonly string[], agent = 'agent-a'): UpstreamRequest {
  return { user: { sub, upstreamSubject: sub, issuer: 'https://idp.example' }, tool: TOOL, upstreamScopes: scopes, brokerTokenJti: 'jti-1', nowMs: Date.now(), agent };
}

function credentialOf(result: UpstreamResult): UpstreamCredential {
  if (isUpstreamFailure(result)) throw new Error(`no credential: ${JSON.stringify(result)}`);
  return result;
}

const ctx = { by: 'oncall', reason: 'incident 42', requestId: 'req-1', callerAddress: '127.0.0.1' };

describe('vault failures (memory store)', () => {
  let bed: VaultBed;
  beforeAll(async () => { bed = await startVaultBed({ timeoutMs: 300 }); });
  afterAll(async () => { await bed.close(); });

  it('a scope wider than the user granted is refused, never asked of the SaaS', async () => {
    await connectThroughPages(bed, 'alice', SAAS_USERS.alice!);
    const refreshed = bed.saas.counts.refreshed;
    expect(await bed.vault.obtain(request('alice', ['crm.read', 'crm.admin']))).toEqual({
      failure: 'refused', error: 'invalid_scope', description: 'the connection does not grant these scopes; the user may connect again to grant them',
    });
    expect(bed.saas.counts.refreshed).toBe(refreshed);
  });

  it('a sealed entry moved onto another user does not open (AAD binds it to user, tool, upstream)', async () => {
    const alice = await bed.store.get({ user: 'alice', tool: TOOL, upstream: bed.saas.issuer });
    const mallory = { user: 'mallory', tool: TOOL, upstream: bed.saas.issuer };
    expect(await bed.store.put({ version: 1, meta: { ...alice!.meta, ...mallory }, sealed: alice!.sealed }, undefined)).toBe(true);
    const result = await bed.vault.obtain(request('mallory', ['crm.read']));
    expect(result).toEqual({ failure: 'unavailable', description: 'the stored connection cannot be read' });
    await bed.store.delete(mallory);
  });

  it('a slow SaaS: unavailable within the bound, for the refreshing request and the one waiting on it', async () => {
    // Carol's own connection: the SaaS still answers the abandoned refresh later (rotating her token).
    await connectThroughPages(bed, 'carol', SAAS_USERS.carol!);
    bed.saas.setDelayMs(5000);
    const started = Date.now();
    try {
      const results = await Promise.all([bed.vault.obtain(request('carol', ['crm.write'], 'agent-c')), bed.vault.obtain(request('carol', ['crm.write'], 'agent-c'))]);
      const elapsed = Date.now() - started;
      for (const r of results) expect(r).toMatchObject({ failure: 'unavailable' });
      expect(elapsed).toBeLessThan(obtainBoundMs(bed.tool.upstream) + 500);
    } finally {
      bed.saas.setDelayMs(0);
    }
  });

  it('an unreachable or silent SaaS: unavailable within the bound', async () => {
    // A port that accepts connections and never answers, and one where nothing listens.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      for (const issuer of [`http://127.0.0.1:${String(silentPort)}`, 'http://127.0.0.1:9']) {
        const upstream: VaultUpstream = { ...bed.tool.upstream, issuer, timeoutMs: 300 };
        const tool: VaultTool = { tool: TOOL, upstream, client: createSaasClient(upstream) };
        const vault = new Vault({ store: new MemoryVaultStore(), keys: () => bed.ring, tools: () => new Map([[TOOL, tool]]), connectUrl: () => 'x', log: capturedLogger().log });
        await vault.connect(tool, 'alice', { accessToken: 'a', tokenType: 'Bearer', expiresInSeconds: 0, refreshToken: 'r', scopes: ['crm.read'] }, ctx);
        const started = Date.now();
        const result = await vault.obtain(request('alice', ['crm.read']));
        expect(result).toMatchObject({ failure: 'unavailable' });
        expect(Date.now() - started).toBeLessThan(obtainBoundMs(upstream) + 500);
      }
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('a grant revoked at the SaaS: the connection is deleted and the user asked to connect again', async () => {
    await connectThroughPages(bed, 'bob', SAAS_USERS.bob!);
    const id = { user: 'bob', tool: TOOL, upstream: bed.saas.issuer };
    // The user disconnects the broker at the SaaS side (what RFC 7009 does on their behalf).
    const { unseal } = await import('../../../src/upstream/vault/seal.js');
    const { parseSecrets } = await import('../../../src/upstream/vault/vault-entry.js');
    const secrets = parseSecrets(unseal(bed.ring, { purpose: 'connection', ...id }, (await bed.store.get(id))!.sealed))!;
    await bed.tool.client.revoke(secrets.refreshToken);
    expect(await bed.vault.obtain(request('bob', ['crm.write']))).toEqual({ failure: 'not_connected', connectUrl: `${bed.broker}/connect/${TOOL}` });
    expect(await bed.store.get(id)).toBeUndefined();
  });

  it('revoking the agent deletes the connections it used (revoked at the SaaS); revoking the user deletes theirs', async () => {
    await connectThroughPages(bed, 'bob', SAAS_USERS.bob!);
    await bed.vault.dropCached({ tool: TOOL });
    credentialOf(await bed.vault.obtain(request('alice', ['crm.read'], 'agent-a')));
    credentialOf(await bed.vault.obtain(request('bob', ['crm.read'], 'agent-b')));
    const agents = new Map([['agent-a', { clientId: 'agent-a' } as unknown as Agent], ['agent-b', { clientId: 'agent-b' } as unknown as Agent]]);
    const actions = purgeVaultOnRevocation(createAdminActions({
      state: new MemoryState(), agents: () => ({ agents }), catalog: testCatalog, record: () => Promise.resolve(), now: Date.now, clockSkewSeconds: 0,
    }), bed.vault);
    const revoked = bed.saas.counts.revoked;

    await actions.agent('suspend', 'agent-b', ctx);
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeDefined();
    const refreshed = bed.saas.counts.refreshed;
    credentialOf(await bed.vault.obtain(request('bob', ['crm.read'], 'agent-b')));
    expect(bed.saas.counts.refreshed).toBe(refreshed + 1); // the cached token was dropped with the suspension

    await actions.agent('revoke', 'agent-a', ctx);
    expect(await bed.store.get({ user: 'alice', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeDefined();
    expect(bed.saas.counts.revoked).toBe(revoked + 1);

    await actions.revoke('user', 'bob', ctx);
    expect(await bed.store.get({ user: 'bob', tool: TOOL, upstream: bed.saas.issuer })).toBeUndefined();
    expect(bed.saas.counts.revoked).toBe(revoked + 2);
    expect(bed.records.filter((r) => r.action === 'vault.disconnect' && r.by === 'oncall')).toHaveLength(2);
  });

  it('no token in any log or record', () => {
    const text = bed.logs() + JSON.stringify(bed.records);
    expect(text.length).toBeGreaterThan(100);
    expect(text).not.toMatch(/refresh_token|access_token|accessToken|refreshToken/u);
    expect(text).not.toContain(bed.saas.clientSecret);
    // Opaque oidc-provider tokens are 43 base64url characters: none appears anywhere.
    expect(text).not.toMatch(/[A-Za-z0-9_-]{43}/u);
  });
});

describe('vault keys ring in the bed', () => {
  it('ringOf gives the last key as active', () => {
    const ring = ringOf('a', 'b');
    expect(ring.active.kid).toBe('b');
    expect([...ring.byKid.keys()]).toEqual(['a', 'b']);
  });
});
