/**
 * `deliver_to_agent` over real HTTP (broker, sample SaaS): where a tool's catalog entry says
 * `deliver_to_agent: true`, the agent itself performs the onward exchange with the broker token it holds for
 * that tool and receives the user's SaaS credential; everywhere else (the default) it is refused. Each refusal:
 * the exact error, no credential, one denial record. The record says who received the credential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import type { ExchangeRecord } from '../../src/attribution/record.js';
import { buildCatalog } from '../../src/config/load-catalog.js';
import { tokenFingerprint } from '../../src/subject-token/verify-incoming-token.js';
import { AGENT_SECRET, DA, JB, startOnwardBed, type OnwardBed } from '../support/onward-bed.js';
import { AT_TYPE, basic, form, rawPost, TE_GRANT, type RawResponse } from '../support/token-request.js';

let bed: OnwardBed;
beforeAll(async () => { bed = await startOnwardBed(); });
afterAll(async () => { await bed.close(); });

/** The agent `clientId` asks the broker for the upstream credential itself. */
function agentOnward(clientId: string, subjectToken: string, params: Record<string, string> = {}): Promise<RawResponse> {
  return rawPost(bed.broker.tokenEndpoint, form({ grant_type: TE_GRANT, subject_token: subjectToken, subject_token_type: AT_TYPE, resource: bed.saas.apiResource, ...params }), { authorization: basic(clientId, AGENT_SECRET) });
}

async function recordsOf(act: () => Promise<RawResponse>): Promise<{ res: RawResponse; records: ExchangeRecord[] }> {
  const before = bed.broker.sink.records.length;
  const res = await act();
  return { res, records: bed.broker.sink.records.slice(before).filter((r): r is ExchangeRecord => r.type === 'token_exchange') };
}

function expectDenied(res: RawResponse, records: ExchangeRecord[], status: number, error: string, reason: string): void {
  expect([res.status, res.body.error]).toEqual([status, error]);
  expect(res.body.access_token).toBeUndefined();
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ decision: 'denied', reason, error });
  expect(records[0]?.onward?.credential_sha256).toBeUndefined();
}

describe('deliver_to_agent: true', () => {
  it('the agent receives alice\'s own SaaS credential for that tool; the record names the agent as recipient', async () => {
    const brokerToken = await bed.agentToken('alice', DA, 'accounts.read');
    const { res, records } = await recordsOf(() => agentOnward('assistant', brokerToken));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ issued_token_type: AT_TYPE, token_type: 'Bearer', scope: 'accounts:read' });
    const credential = String(res.body.access_token);
    expect(decodeJwt(credential)).toMatchObject({ iss: bed.saas.issuer, sub: 'alice', aud: bed.saas.apiResource });
    const read = (id: string) => fetch(`${bed.saas.apiResource}/accounts/${id}`, { headers: { authorization: `Bearer ${credential}` } }).then((r) => r.status);
    expect([await read('A'), await read('B')]).toEqual([200, 403]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      decision: 'granted', agent: { client_id: 'assistant' }, user: { sub: 'alice' },
      onward: { delivered_to: 'agent', connector: 'jwt_bearer', actors: ['assistant'], subject_jti: decodeJwt(brokerToken).jti, credential_sha256: tokenFingerprint(credential) },
    });
    expect(JSON.stringify(bed.broker.sink.records)).not.toContain(credential);
  });

  it('never with a broker token minted for another agent', async () => {
    const stolen = await bed.agentToken('alice', DA, 'accounts.read');
    const { res, records } = await recordsOf(() => agentOnward('other-agent', stolen));
    expectDenied(res, records, 400, 'invalid_request', 'onward_subject_other_agent');
  });

  it('never wider than the token grants', async () => {
    const token = await bed.agentToken('alice', DA, 'accounts.read');
    const { res, records } = await recordsOf(() => agentOnward('assistant', token, { scope: 'accounts:read accounts:write' }));
    expectDenied(res, records, 400, 'invalid_scope', 'upstream_scope_widening');
  });
});

describe('deliver_to_agent: false (the default)', () => {
  it('the agent is refused for a tool that does not say so, and no credential is obtained', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const { res, records } = await recordsOf(() => agentOnward('assistant', token));
    expectDenied(res, records, 400, 'unauthorized_client', 'upstream_agent_delivery_refused');
    expect(records[0]?.onward).toMatchObject({ delivered_to: 'agent', upstream: bed.saas.apiResource });
  });

  it('the tool identity still receives it, and the record says so', async () => {
    const token = await bed.agentToken('alice', JB, 'accounts.read');
    const { res, records } = await recordsOf(() => bed.onward('accounts-jb-tool', token));
    expect(res.status).toBe(200);
    expect(records[0]).toMatchObject({ decision: 'granted', agent: { client_id: 'accounts-jb-tool' }, onward: { delivered_to: 'tool', actors: ['accounts-jb-tool', 'assistant'] } });
  });

  it('the catalog accepts only true or false, with the file and field', () => {
    const tool = (deliver: unknown) => ({ source: 'scopes/x.yaml', data: { id: 'x', description: 'x', resource: 'https://x.example/api', max_ttl: 300,
      scopes: { 'x.read': { description: 'r', risk: 'low', justified_by: ['x.read'] } },
      upstream: { resource: 'https://saas.example/api', authorization_server: { issuer: 'https://saas.example' }, client: { client_id: 'b', auth: 'client_secret_basic', secret_env: 'X_SECRET' }, scopes: { 'x.read': ['read'] }, connector: 'jwt_bearer', deliver_to_agent: deliver } } });
    expect(buildCatalog([tool(true)]).tools.get('x')?.upstream?.deliverToAgent).toBe(true);
    expect(buildCatalog([tool(undefined)]).tools.get('x')?.upstream?.deliverToAgent).toBe(false);
    expect(() => buildCatalog([tool('yes')])).toThrow(/scopes\/x\.yaml: upstream\.deliver_to_agent: must be true or false/u);
  });
});
