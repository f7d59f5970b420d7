/** The onward decision as a pure function over plain data (no HTTP): each check and its exact denial. */
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/config/load-catalog.js';
import type { Agent } from '../../src/domain/agent.js';
import { isDenial } from '../../src/exchange/reasons.js';
import { checkOnwardRequest, decideOnward, mapScopes, toolOfIdentity, type BrokerTokenClaims } from '../../src/upstream/onward/decide-onward.js';

const scopes = { 'a.read': { description: 'r', risk: 'low', justified_by: ['x'] }, 'a.write': { description: 'w', risk: 'medium', justified_by: ['x'] } };
const upstream = (resource: string) => ({ resource, authorization_server: { issuer: 'https://saas.example' }, client: { client_id: 'b', auth: 'client_secret_basic', secret_env: 'S' }, scopes: { 'a.read': ['r'], 'a.write': ['r', 'w'] }, connector: 'jwt_bearer' });
const catalog = buildCatalog([
  { source: 'a.yaml', data: { id: 'a', description: 'a', resource: 'https://a.example/mcp', max_ttl: 60, scopes, upstream: upstream('https://saas.example/api') } },
  { source: 'b.yaml', data: { id: 'b', description: 'b', resource: 'https://b.example/mcp', max_ttl: 60, scopes, upstream: upstream('https://other.example/api') } },
  { source: 'c.yaml', data: { id: 'c', description: 'c', resource: 'https://c.example/mcp', max_ttl: 60, scopes } },
]);
const identity = { clientId: 'a-tool', kind: 'tool', toolId: 'a' } as unknown as Agent;
const claims: BrokerTokenClaims = { sub: 'alice', aud: 'https://a.example/mcp', jti: 'j1', iat: 1, exp: 2, scope: 'a.read', act: { sub: 'agent-1' }, client_id: 'agent-1' };
const tool = catalog.tools.get('a')!;
const decide = (over: Partial<Parameters<typeof decideOnward>[0]> = {}) => decideOnward({ identity, tool, upstream: tool.upstream!, catalog, params: { resource: 'https://saas.example/api' }, claims, brokerIssuer: 'https://broker', ...over });
const reason = (r: unknown) => (isDenial(r) ? r.reason : 'granted');

describe('decideOnward', () => {
  it('maps the granted scopes, names the user, grows the act chain (tool, then agent)', () => {
    const plan = decide();
    expect(plan).toMatchObject({ upstreamScopes: ['r'], user: { sub: 'alice', upstreamSubject: 'alice' }, act: { sub: 'a-tool', act: { sub: 'agent-1' } }, brokerJti: 'j1', agent: 'agent-1' });
  });
  it('never widens: mapping only what was granted; a request beyond it is refused', () => {
    expect(mapScopes(tool.upstream!, ['a.read', 'a.write'])).toEqual(['r', 'w']);
    expect(reason(decide({ params: { resource: 'https://saas.example/api', scope: 'r w' } }))).toBe('upstream_scope_widening');
    expect(reason(decide({ claims: { ...claims, scope: 'unknown' } }))).toBe('upstream_scope_empty');
    expect(reason(decide({ claims: { ...claims, scope: undefined } }))).toBe('upstream_scope_empty');
  });
  it('refuses a token for another tool, a foreign or unknown upstream, a missing target, a missing subject claim', () => {
    expect(reason(decide({ claims: { ...claims, aud: 'https://b.example/mcp' } }))).toBe('onward_subject_other_tool');
    expect(reason(decide({ params: { resource: 'https://other.example/api' } }))).toBe('upstream_not_owned');
    expect(reason(decide({ params: { resource: 'https://nowhere.example/api' } }))).toBe('resource_unknown');
    expect(reason(decide({ params: {} }))).toBe('resource_missing');
    expect(reason(decide({ params: { resource: 'https://saas.example/api', audience: 'https://other.example/api' } }))).toBe('audience_mismatch');
    expect(reason(decide({ upstream: { ...tool.upstream!, subjectClaim: 'email' } }))).toBe('upstream_subject_missing');
  });
  it('frames the request and finds the identity tool', () => {
    expect(reason(checkOnwardRequest({}))).toBe('subject_token_missing');
    expect(reason(checkOnwardRequest({ subjectToken: 't', subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt' }))).toBe('subject_token_type_unsupported');
    expect(reason(toolOfIdentity({ ...identity, toolId: 'c' }, catalog))).toBe('tool_identity_without_upstream');
  });
});
