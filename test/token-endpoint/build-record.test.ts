import { describe, expect, it } from 'vitest';
import { canonicalJson, isCanonicallyOrdered } from '../../src/attribution/canonical-json.js';
import { buildExchangeRecord, type Outcome } from '../../src/token-endpoint/build-record.js';
import type { RecordInput as ExchangeState } from '../../src/token-endpoint/build-record.js';
import { deny } from '../../src/exchange/reasons.js';
import { CRM, testCatalog } from '../support/catalog.js';

const tool = testCatalog().byResource.get(CRM);
if (!tool) throw new Error('test catalog has no CRM tool');
const scopes = {
  requested: ['crm.accounts.read', 'crm.accounts.write'],
  granted: ['crm.accounts.read'],
  dropped: [{ scope: 'crm.accounts.write', reason: 'not_justified_by_user' as const }],
};
const request = { subjectToken: 'x', subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token' as const, resources: [CRM], audiences: [], scopes: scopes.requested, requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token' as const };
const context = { nowMs: Date.parse('2026-11-23T12:00:00Z'), callerAddress: '192.0.2.7', agent: { clientId: 'support-bot', authenticated: true } };

const granted: ExchangeState = {
  requestId: 'req-1',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  request,
  tool,
  subject: { iss: 'https://idp.example.test', sub: 'alice', exp: 2_000_000_000, scopes: ['crm.read'], fingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg' },
  subjectFingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
  actorFingerprint: 'aaaagYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
  dpopJkt: 'jkt-thumbprint',
  grant: {
    decision: 'granted', tool, subject: { iss: 'https://idp.example.test', sub: 'alice' },
    act: { sub: 'support-bot', act: { sub: 'planner' } }, scopes, iat: 1_795_000_000, exp: 1_795_000_300,
    lifetimeBoundBy: 'tool_max_ttl', issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
  },
  minted: { jti: 'jti-1', iat: 1_795_000_000, exp: 1_795_000_300 },
};
const scopeDenial = { ...deny('scope_empty_after_narrowing', 'no scope'), scopes: { ...scopes, granted: [] } };
const cases: [string, ExchangeState, Outcome][] = [
  ['granted, DPoP-bound, with trace id and actor token', granted, { decision: 'granted' }],
  ['denied for scopes', { requestId: 'req-2', request, tool, denial: scopeDenial }, { decision: 'denied', reason: 'scope_empty_after_narrowing', error: 'invalid_scope' }],
  ['denied before the request was parsed', { requestId: 'req-3' }, { decision: 'denied', reason: 'client_authentication_failed', error: 'invalid_client' }],
];

describe('buildExchangeRecord', () => {
  it.each(cases)('builds the record in canonical key order at every level (%s), so the sink serialises it with one JSON.stringify', (_name, state, outcome) => {
    const record = buildExchangeRecord(state, outcome, context);
    expect(isCanonicallyOrdered(record)).toBe(true);
    expect(JSON.stringify(record)).toBe(canonicalJson(record));
  });

  it('records what was decided', () => {
    const record = buildExchangeRecord(granted, { decision: 'granted' }, context);
    expect(record).toEqual({
      v: 1, type: 'token_exchange', id: expect.stringMatching(/^[0-9a-f-]{36}$/u) as unknown, time: '2026-11-23T12:00:00.000Z',
      request_id: 'req-1', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', decision: 'granted', reason: 'granted',
      agent: { client_id: 'support-bot', authenticated: true }, user: { iss: 'https://idp.example.test', sub: 'alice' },
      actors: ['support-bot', 'planner'], tool: { id: 'crm', resource: CRM }, scopes,
      token: { jti: 'jti-1', exp: 1_795_000_300, lifetime_bound_by: 'tool_max_ttl', dpop_jkt: 'jkt-thumbprint' },
      subject_token_sha256: granted.subjectFingerprint, actor_token_sha256: granted.actorFingerprint, caller: { address: '192.0.2.7' },
    });
    const denied = buildExchangeRecord({ requestId: 'req-2', request, tool, denial: scopeDenial }, { decision: 'denied', reason: 'scope_empty_after_narrowing', error: 'invalid_scope' }, context);
    expect(denied).toMatchObject({ decision: 'denied', reason: 'scope_empty_after_narrowing', error: 'invalid_scope', scopes: { granted: [], dropped: scopes.dropped } });
    expect(denied).not.toHaveProperty('token');
  });
});
