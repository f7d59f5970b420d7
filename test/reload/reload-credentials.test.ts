/**
 * Hot reload of agents' credentials in a real broker (issue 19 §3): both places that authenticate agents,
 * `POST /token` and `/revoke`, run the same client-authentication step against the agents in force, so a
 * reload that adds an agent makes it work at once, and one that changes a secret retires the old secret at
 * once, even one the verified-secret cache had just accepted (provider/verified-secret-cache.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminActionRecord } from '../../src/admin/admin-record.js';
import type { AuthenticationFailuresRecord } from '../../src/auth/failure-ledger.js';
import { isExchangeRecord } from '../../src/attribution/record.js';
import { hashClientSecret } from '../../src/provider/client-secret-hash.js';
import type { RunningTestBroker } from '../support/broker-harness.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';
import type { UpstreamIdp } from '../support/upstream-idp.js';
import { clientAssertion, JWT_BEARER } from '../support/attack-kit.js';
import { agentYaml, configDirs, RELOAD_CRM, startFromFiles } from './config-files.js';

const OLD_SECRET = 'credential-reload-old-secret';
const NEW_SECRET = 'credential-reload-new-secret';
const AGENT = 'rotating-agent';
const ADDED = 'added-agent';
let idp: UpstreamIdp;
let broker: RunningTestBroker;
let dirs: { scopes: string; clients: string };

beforeAll(async () => {
  dirs = await configDirs(AGENT, await hashClientSecret(OLD_SECRET));
  ({ broker, idp } = await startFromFiles({ catalogDir: dirs.scopes, clientsDir: dirs.clients }));
});
afterAll(async () => {
  await broker.close();
  await idp.close();
});

async function exchange(clientId: string, secret: string): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: RELOAD_CRM, scope: 'crm.accounts.read',
  }), { authorization: basic(clientId, secret) });
}
const revoke = (token: string, clientId: string, secret: string) =>
  rawPost(`${broker.issuer}/revoke`, form({ token }), { authorization: basic(clientId, secret) });

const KEY_AGENT = 'keyed-agent';
interface SigningKey { readonly privateKey: CryptoKey; readonly kid: string; readonly yaml: string }
/** A private_key_jwt agent file registering one fresh ES256 key (the private half stays here). */
async function keyedAgent(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const yaml = [
    `client_id: ${KEY_AGENT}`, `name: ${KEY_AGENT}`, 'owner: sec@example.com', 'status: active',
    'authentication:', '  method: private_key_jwt', `  jwks: ${JSON.stringify({ keys: [jwk] })}`,
    'tools:', '  crm: [crm.accounts.read]', 'max_ttl: 5m', '',
  ].join('\n');
  return { privateKey, kid, yaml };
}
async function exchangeSigned(key: SigningKey): Promise<RawResponse> {
  return rawPost(broker.tokenEndpoint, form({
    grant_type: TE_GRANT, subject_token: await idp.userToken('alice'), subject_token_type: AT_TYPE, resource: RELOAD_CRM, scope: 'crm.accounts.read',
    client_assertion: await clientAssertion(KEY_AGENT, key.privateKey, key.kid, broker.issuer), client_assertion_type: JWT_BEARER,
  }));
}
async function revokeSigned(token: string, key: SigningKey): Promise<RawResponse> {
  return rawPost(`${broker.issuer}/revoke`, form({
    token, client_assertion: await clientAssertion(KEY_AGENT, key.privateKey, key.kid, broker.issuer), client_assertion_type: JWT_BEARER,
  }));
}
const tokenRule = async (token: string) => (await broker.state.listRevocations()).find((r) => r.kind === 'token' && r.value === decodeJwt(token).jti);
const lastExchange = () => broker.sink.records.filter(isExchangeRecord).at(-1);
/** Failed /revoke authentications, aggregated per source (auth/failure-ledger.ts): written when the broker drains. */
async function revokeFailures(): Promise<AuthenticationFailuresRecord[]> {
  await broker.broker.drain();
  return broker.sink.records.filter((r): r is AuthenticationFailuresRecord => r.type === 'authentication_failures' && r.surface === 'revoke');
}

describe('hot reload of agent credentials', () => {
  it('adds an agent: refused before the reload, its next /token and /revoke work after it', async () => {
    const before = await exchange(ADDED, OLD_SECRET);
    expect(before.status).toBe(401);
    expect(before.body).toMatchObject({ error: 'invalid_client' });
    expect(before.body.access_token).toBeUndefined();
    expect(lastExchange()).toMatchObject({ decision: 'denied', reason: 'agent_unknown' });

    await writeFile(join(dirs.clients, `${ADDED}.yaml`), agentYaml(ADDED, await hashClientSecret(OLD_SECRET)));
    expect(await broker.broker.reloader.reload({ by: 'test' })).toMatchObject({ ok: true, changed: true, summary: 'tools: unchanged; agents: +added-agent' });

    const granted = await exchange(ADDED, OLD_SECRET);
    expect(granted.status, granted.text).toBe(200);
    expect(lastExchange()).toMatchObject({ decision: 'granted', agent: { client_id: ADDED, authenticated: true } });
    const token = String(granted.body.access_token);
    const revoked = await revoke(token, ADDED, OLD_SECRET);
    expect(revoked.status, revoked.text).toBe(200);
    expect(await tokenRule(token)).toBeDefined();
    expect(broker.sink.records.at(-1)).toMatchObject({ type: 'admin_action', action: 'revoke.token', by: `agent:${ADDED}` } satisfies Partial<AdminActionRecord>);
  });

  it('changes a secret: the old one is refused at once though the cache had verified it, the new one works', async () => {
    // Twice with the old secret: the second answer comes from the verified-secret cache.
    expect((await exchange(AGENT, OLD_SECRET)).status).toBe(200);
    const cachedOld = await exchange(AGENT, OLD_SECRET);
    expect(cachedOld.status).toBe(200);
    const heldToken = String(cachedOld.body.access_token);

    await writeFile(join(dirs.clients, `${AGENT}.yaml`), agentYaml(AGENT, await hashClientSecret(NEW_SECRET)));
    expect(await broker.broker.reloader.reload({ by: 'test' })).toMatchObject({ ok: true, changed: true, summary: `tools: unchanged; agents: ~${AGENT}` });

    const refused = await exchange(AGENT, OLD_SECRET);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'invalid_client', error_description: 'invalid secret provided' });
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic realm=/u);
    expect(refused.text).not.toMatch(/access_token|eyJ/u);
    expect(lastExchange()).toMatchObject({ decision: 'denied', reason: 'client_authentication_failed', error: 'invalid_client', agent: { client_id: AGENT } });

    // /revoke refuses the old secret too: nothing revoked, the failure counted for this endpoint.
    const failuresBefore = (await revokeFailures()).reduce((n, r) => n + (r.reasons.wrong_secret ?? 0), 0);
    const oldAtRevoke = await revoke(heldToken, AGENT, OLD_SECRET);
    expect(oldAtRevoke.status).toBe(401);
    expect(oldAtRevoke.body).toMatchObject({ error: 'invalid_client' });
    expect(await tokenRule(heldToken)).toBeUndefined();
    const failures = await revokeFailures();
    expect(failures.reduce((n, r) => n + (r.reasons.wrong_secret ?? 0), 0)).toBe(failuresBefore + 1);
    expect(failures.at(-1)).toMatchObject({ surface: 'revoke', ids: { [AGENT]: 1 } });

    const granted = await exchange(AGENT, NEW_SECRET);
    expect(granted.status, granted.text).toBe(200);
    expect(lastExchange()).toMatchObject({ decision: 'granted', agent: { client_id: AGENT, authenticated: true } });
    expect((await revoke(heldToken, AGENT, NEW_SECRET)).status).toBe(200);
    expect(await tokenRule(heldToken)).toBeDefined();
  });

  it('rotates a private_key_jwt key: assertions signed with the retired key are refused at /token and /revoke, the new key works', async () => {
    const retired = await keyedAgent('retired');
    await writeFile(join(dirs.clients, `${KEY_AGENT}.yaml`), retired.yaml);
    expect(await broker.broker.reloader.reload({ by: 'test' })).toMatchObject({ ok: true, changed: true, summary: `tools: unchanged; agents: +${KEY_AGENT}` });
    const held = await exchangeSigned(retired);
    expect(held.status, held.text).toBe(200);
    const heldToken = String(held.body.access_token);

    const current = await keyedAgent('current');
    await writeFile(join(dirs.clients, `${KEY_AGENT}.yaml`), current.yaml);
    expect(await broker.broker.reloader.reload({ by: 'test' })).toMatchObject({ ok: true, changed: true, summary: `tools: unchanged; agents: ~${KEY_AGENT}` });

    const refused = await exchangeSigned(retired);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'invalid_client' });
    expect(refused.body.access_token).toBeUndefined();
    expect(lastExchange()).toMatchObject({ decision: 'denied', reason: 'client_authentication_failed', agent: { client_id: KEY_AGENT } });
    const failuresBefore = (await revokeFailures()).reduce((n, r) => n + (r.reasons.assertion_invalid ?? 0), 0);
    const refusedAtRevoke = await revokeSigned(heldToken, retired);
    expect(refusedAtRevoke.status).toBe(401);
    expect(refusedAtRevoke.body).toMatchObject({ error: 'invalid_client' });
    expect(await tokenRule(heldToken)).toBeUndefined();
    expect((await revokeFailures()).reduce((n, r) => n + (r.reasons.assertion_invalid ?? 0), 0)).toBe(failuresBefore + 1);

    expect((await exchangeSigned(current)).status).toBe(200);
    expect((await revokeSigned(heldToken, current)).status).toBe(200);
    expect(await tokenRule(heldToken)).toBeDefined();
  });
});
