/** Issue 17: a tool's `upstream:` and tool identities, validated with file/field problems. */
import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/config/load-catalog.js';
import { buildAgents } from '../../src/config/load-agents.js';
import { ConfigError } from '../../src/config/config-error.js';

const scopes = { 'a.read': { description: 'r', risk: 'low', justified_by: ['x'] } };
const good = { resource: 'https://saas.example/api', authorization_server: { issuer: 'https://saas.example' }, client: { client_id: 'b', auth: 'private_key_jwt', key_file: 'saas.jwk.json' }, scopes: { 'a.read': ['r'] }, connector: 'token_exchange' };
const tool = (upstream: unknown) => ({ source: 'scopes/a.yaml', data: { id: 'a', description: 'a', resource: 'https://a.example/mcp', max_ttl: 60, scopes, ...(upstream === undefined ? {} : { upstream }) } });
function problems(fn: () => unknown): string[] {
  try { fn(); } catch (e) { if (e instanceof ConfigError) return e.problems.map((p) => `${p.file}: ${p.path}: ${p.message}`); throw e; }
  return [];
}

describe('catalog upstream', () => {
  it('loads a valid upstream', () => {
    const u = buildCatalog([tool(good)]).tools.get('a')?.upstream;
    expect(u).toMatchObject({ resource: 'https://saas.example/api', connector: 'token_exchange', subjectClaim: 'sub', deliverToAgent: false, assertionAudience: 'https://saas.example', clientAuth: { method: 'private_key_jwt', keyFile: 'saas.jwk.json' } });
  });
  it('reports every bad field by file and path', () => {
    const list = problems(() => buildCatalog([tool({ ...good, authorization_server: { issuer: 'http://saas.example' }, client: { client_id: 'b', auth: 'client_secret_basic', secret_env: 'S', secret: 'inline!' }, scopes: { 'a.nope': ['r'] }, connector: 'magic', deliver_to_agent: 'yes' })]));
    expect(list.join('\n')).toMatch(/upstream\.authorization_server\.issuer: must use https/u);
    expect(list.join('\n')).toMatch(/upstream\.client\.secret: an inline secret is never accepted/u);
    expect(list.join('\n')).toMatch(/upstream\.connector: must be one of token_exchange, jwt_bearer, vault/u);
    expect(list.join('\n')).toMatch(/upstream\.deliver_to_agent/u);
    expect(problems(() => buildCatalog([tool({ ...good, scopes: { 'a.nope': ['r'] } })])).join('\n')).toMatch(/upstream\.scopes\["?a\.nope"?\]: is not a scope of this tool/u);
    expect(problems(() => buildCatalog([tool({ ...good, client: { client_id: 'b', auth: 'private_key_jwt', key_file: '../etc/passwd' } })])).join('\n')).toMatch(/key_file: must be a file name/u);
  });
  it('a tool identity names a tool with an upstream, and lists no tools', () => {
    const catalog = buildCatalog([tool(good), { source: 'scopes/c.yaml', data: { id: 'c', description: 'c', resource: 'https://c.example/mcp', max_ttl: 60, scopes } }]);
    const id = (extra: Record<string, unknown>) => ({ source: 'clients/t.yaml', data: { client_id: 't', name: 't', owner: 'o', authentication: { method: 'client_secret_basic', secret_hash: 'scrypt$16384$8$1$S0pJkcvqdV-4_ZOlWJAsRA$SjC8cZDQkVVCsMUVyp4UUCKb_tnxosRn0-jFpBcXPUc' }, max_ttl: 60, kind: 'tool', ...extra } });
    expect(buildAgents([id({ tool: 'a' })], catalog, 'development').agents.get('t')).toMatchObject({ kind: 'tool', toolId: 'a' });
    expect(problems(() => buildAgents([id({ tool: 'c' })], catalog, 'development')).join('\n')).toMatch(/declares no upstream/u);
    expect(problems(() => buildAgents([id({})], catalog, 'development')).join('\n')).toMatch(/tool: is required for kind: tool/u);
    expect(problems(() => buildAgents([id({ tool: 'a', tools: { a: ['a.read'] } })], catalog, 'development')).join('\n')).toMatch(/a tool identity lists no tools/u);
  });
});
