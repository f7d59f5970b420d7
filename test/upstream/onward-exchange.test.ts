/**
 * The onward exchange over real HTTP: the agent's broker token, presented by a tool identity at the broker,
 * becomes the user's credential at the sample SaaS (its own oidc-provider authorization server), through
 * RFC 7523 jwt-bearer and RFC 8693 token exchange; the SaaS API then applies its own per-user rules.
 * Every refusal: the exact error, no credential, one denial record; no record ever holds a credential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import type { ExchangeRecord } from '../../src/attribution/record.js';
import { tokenFingerprint } from '../../src/subject-token/verify-incoming-token.js';
import { AGENT_SECRET, BILLING, BILLING_API, JB, startOnwardBed, TX, type OnwardBed } from '../support/onward-bed.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';

let bed: OnwardBed;
beforeAll(async () => { bed = await startOnwardBed(); });
afterAll(async () => { await bed.close(); });

async function api(method: 'GET' | 'POST', id: string, token: string): Promise<number> {
  const res = await fetch(`${bed.saas.apiResource}/accounts/${id}`, { method, headers: { authorization: `Bearer ${token}` } });
  return res.status;
}

/** Runs `act` and returns the exchange records it added. */
async function recordsOf(act: () => Promise<RawResponse>): Promise<{ res: RawResponse; records: ExchangeRecord[] }> {
  const before = bed.broker.sink.records.length;
  const res = await act();
  const records = bed.broker.sink.records.slice(before).filter((r): r is ExchangeRecord => r.type === 'token_exchange');
  return { res, records };
}

function expectDenied(res: RawResponse, records: ExchangeRecord[], status: number, error: string, reason: string): void {
  expect([res.status, res.body.error]).toEqual([status, error]);
  expect(res.body.access_token).toBeUndefined();
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ decision: 'denied', reason, error });
}

describe.each([
  ['jwt_bearer', JB, 'accounts-jb-tool'],
  ['token_exchange', TX, 'accounts-tx-tool'],
])('onward exchange through %s', (connector, resource, toolClient) => {
  it('alice: her credential reads A, not B, and writes A; the record links the broker token and holds a fingerprint only', async () => {
    const brokerToken = await bed.agentToken('alice', resource, 'accounts.read accounts.write');
    const { res, records } = await recordsOf(() => bed.onward(toolClient, brokerToken));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', scope: 'accounts:read accounts:write' });
    const credential = String(res.body.access_token);
    expect(decodeJwt(credential)).toMatchObject({ iss: bed.saas.issuer, sub: 'alice', aud: bed.saas.apiResource });
    expect(await api('GET', 'A', credential)).toBe(200);
    expect(await api('GET', 'B', credential)).toBe(403);
    expect(await api('POST', 'A', credential)).toBe(200);
    // The broker token itself is refused by the SaaS: it accepts only its own tokens.
    expect(await api('GET', 'A', brokerToken)).toBe(401);

    expect(records).toHaveLength(1);
    const record = records[0];
    expect(record).toMatchObject({
      decision: 'granted', reason: 'granted', agent: { client_id: toolClient, authenticated: true },
      user: { sub: 'alice' }, subject_token_sha256: tokenFingerprint(brokerToken),
      onward: { connector, upstream: bed.saas.apiResource, subject_jti: decodeJwt(brokerToken).jti, actors: [toolClient, 'assistant'], credential_sha256: tokenFingerprint(credential), cached: false },
    });
    // No credential, assertion or broker token in any record: fingerprints only.
    const all = JSON.stringify(bed.broker.sink.records);
    expect(all).not.toContain(credential);
    expect(all).not.toContain(brokerToken);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/u);
  });

  it('bob: the SaaS narrows him to read; his write is refused there', async () => {
    const brokerToken = await bed.agentToken('bob', resource, 'accounts.read');
    const res = await bed.onward(toolClient, brokerToken);
    expect([res.status, res.body.scope]).toEqual([200, 'accounts:read']);
    const credential = String(res.body.access_token);
    expect(await api('GET', 'B', credential)).toBe(200);
    expect(await api('POST', 'A', credential)).toBe(403);
  });
});

describe('the cache', () => {
  it('serves the same user, tool and scopes from the cache, and records it', async () => {
    const first = await bed.onward('accounts-jb-tool', await bed.agentToken('alice', JB, 'accounts.read'));
    const { res, records } = await recordsOf(async () => bed.onward('accounts-jb-tool', await bed.agentToken('alice', JB, 'accounts.read')));
    expect(res.status).toBe(200);
    expect(res.body.access_token).toBe(first.body.access_token);
    expect(records.at(-1)?.onward?.cached).toBe(true);
  });
});

describe('refusals: exact error, no credential, one denial record', () => {
  it('a broker token for another tool', async () => {
    const forTx = await bed.agentToken('alice', TX, 'accounts.read');
    const { res, records } = await recordsOf(() => bed.onward('accounts-jb-tool', forTx));
    expectDenied(res, records, 400, 'invalid_request', 'onward_subject_other_tool');
  });

  it('an expired or forged broker token', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const [h, p] = token.split('.');
    const forged = `${String(h)}.${String(p)}.${'A'.repeat(86)}`;
    const { res, records } = await recordsOf(() => bed.onward('accounts-jb-tool', forged));
    expectDenied(res, records, 400, 'invalid_request', 'subject_token_invalid');
  });

  it('a revoked broker token (its jti)', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const { jti, exp } = decodeJwt(token);
    const nowS = Math.floor(Date.now() / 1000);
    await bed.broker.state.addRevocation({ id: `token:${String(jti)}`, kind: 'token', value: String(jti), issuedBefore: nowS, expiresAt: Number(exp), reason: 'test', by: 'tests', at: nowS });
    const { res, records } = await recordsOf(() => bed.onward('accounts-jb-tool', token));
    expectDenied(res, records, 400, 'invalid_request', 'onward_subject_revoked');
  });

  it('a tool that is not registered', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const res = await bed.onward('no-such-tool', token);
    expect([res.status, res.body.error, res.body.access_token]).toEqual([401, 'invalid_client', undefined]);
  });

  it('a tool asking for an upstream it does not own', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const { res, records } = await recordsOf(() => bed.onward('accounts-jb-tool', token, { resource: BILLING_API }));
    expectDenied(res, records, 400, 'invalid_target', 'upstream_not_owned');
  });

  it('a scope the broker token does not grant (the mapping would widen)', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const { res, records } = await recordsOf(() => bed.onward('accounts-jb-tool', token, { scope: 'accounts:read accounts:write' }));
    expectDenied(res, records, 400, 'invalid_scope', 'upstream_scope_widening');
  });

  it('an agent cannot use the onward path: its broker token and the upstream are no tool of its own', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const { res, records } = await recordsOf(() => rawPost(bed.broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: token, subject_token_type: AT_TYPE, resource: bed.saas.apiResource }), { authorization: basic('assistant', AGENT_SECRET) }));
    expectDenied(res, records, 400, 'unauthorized_client', 'upstream_agent_delivery_refused');
  });

  it('a SaaS refusal is passed on, never retried (dave has no account there)', async () => {
    const token = await bed.agentToken('dave', JB, 'accounts.read');
    const { res, records } = await recordsOf(() => bed.onward('accounts-jb-tool', token));
    expectDenied(res, records, 400, 'invalid_grant', 'upstream_refused');
    expect(res.body.error_description).toContain('invalid_grant');
  });

  it('an unreachable SaaS answers 503 temporarily_unavailable within the bound', async () => {
    const token = await bed.agentToken('alice', BILLING, 'accounts.read');
    const started = Date.now();
    const { res, records } = await recordsOf(() => bed.onward('billing-tool', token, { resource: BILLING_API }));
    expect(Date.now() - started).toBeLessThan(3000);
    expectDenied(res, records, 503, 'temporarily_unavailable', 'upstream_unavailable');
  });
});

// Last: the revocation stays in the shared state of this bed.
describe('revocation', () => {
  it('a revoked agent stops onward exchanges and its cached credential is dropped', async () => {
    const brokerToken = await bed.agentToken('alice', TX, 'accounts.read');
    expect((await bed.onward('accounts-tx-tool', brokerToken)).status).toBe(200);
    const sizeBefore = bed.cache.size;
    const nowS = Math.floor(Date.now() / 1000);
    await bed.broker.state.addRevocation({ id: 'agent:assistant', kind: 'agent', value: 'assistant', issuedBefore: nowS + 1, expiresAt: nowS + 3600, reason: 'test', by: 'tests', at: nowS });
    const { res, records } = await recordsOf(() => bed.onward('accounts-tx-tool', brokerToken));
    expectDenied(res, records, 400, 'invalid_request', 'onward_subject_revoked');
    expect(bed.cache.size).toBeLessThan(sizeBefore);
  });
});

