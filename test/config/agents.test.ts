import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildAgents, loadAgents } from '../../src/config/load-agents.js';
import { buildCatalog, loadCatalog } from '../../src/config/load-catalog.js';
import { verifyClientSecret } from '../../src/provider/client-secret-hash.js';
import {
  agentFile,
  asyncProblemsOf,
  crmTool,
  problemsOf,
  REPO_ROOT,
  removeTempDirs,
  SECRET_HASH,
  tempDir,
  ticketsTool,
  writeFiles,
} from './helpers.js';

afterEach(removeTempDirs);

const TE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

const catalog = buildCatalog([
  { source: 'scopes/crm.yaml', data: crmTool() },
  { source: 'scopes/tickets.yaml', data: ticketsTool() },
]);
const F = 'clients/test-agent.yaml';
const one = (data: unknown, mode: 'development' | 'production' = 'development') =>
  buildAgents([{ source: F, data }], catalog, mode);

function publicJwk(): Record<string, unknown> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...publicKey.export({ format: 'jwk' }), kid: 'key-1', use: 'sig', alg: 'ES256' };
}

describe('sample agent', () => {
  it('loads clients/demo-agent.yaml in development mode, with the hash of the documented demo secret', async () => {
    const sampleCatalog = await loadCatalog(path.join(REPO_ROOT, 'scopes'));
    const registry = await loadAgents(path.join(REPO_ROOT, 'clients'), sampleCatalog, 'development', { cwd: REPO_ROOT });
    const demo = registry.agents.get('demo-agent')!;
    expect(demo).toMatchObject({
      clientId: 'demo-agent',
      status: 'active',
      devOnly: true,
      maxTtlSeconds: 600,
      actorToken: { allowed: false, subjects: [] },
      source: 'clients/demo-agent.yaml',
    });
    expect(Object.fromEntries(demo.tools)).toEqual({
      crm: ['crm.accounts.read', 'crm.accounts.write'],
      tickets: ['tickets.read'],
      payroll: ['payroll.payslips.read'],
      accounts: ['accounts.read', 'accounts.write'],
      'connected-accounts': ['accounts.read', 'accounts.write'],
      payments: ['payments.read', 'payments.create'],
    });
    expect(demo.authentication.method).toBe('client_secret_basic');
    if (demo.authentication.method !== 'client_secret_basic') return;
    expect(await verifyClientSecret(demo.authentication.secretHash, 'demo-agent-secret')).toBe(true);
  });

  it('is refused in production mode', async () => {
    const sampleCatalog = await loadCatalog(path.join(REPO_ROOT, 'scopes'));
    expect(
      await asyncProblemsOf(loadAgents(path.join(REPO_ROOT, 'clients'), sampleCatalog, 'production', { cwd: REPO_ROOT })),
    ).toEqual([
      'clients/accounts-tool.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
      'clients/connected-accounts-tool.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
      'clients/demo-agent.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
    ]);
  });
});

describe('buildAgents', () => {
  it('maps a valid file, with defaults', () => {
    const agent = one(agentFile()).agents.get('test-agent')!;
    expect(agent).toEqual({
      clientId: 'test-agent',
      name: 'Test agent',
      owner: 'team@example.com',
      status: 'active',
      authentication: { method: 'client_secret_basic', secretHash: SECRET_HASH },
      tools: new Map([['crm', ['crm.accounts.read']]]),
      maxTtlSeconds: 600,
      actorToken: { allowed: false, subjects: [] },
      dpop: 'optional',
      grantTypes: [TE_GRANT],
      devOnly: false,
      source: F,
    });
    expect(one(agentFile({ dev_only: false }), 'production').agents.has('test-agent')).toBe(true);
    const suspended = one(agentFile({ status: 'suspended', actor_token: { allowed: true, subjects: ['spiffe://example.org/runtime'] } }));
    expect(suspended.agents.get('test-agent')).toMatchObject({
      status: 'suspended',
      actorToken: { allowed: true, subjects: ['spiffe://example.org/runtime'] },
    });
  });

  it('reads dpop: required | optional (default optional) and rejects anything else', () => {
    expect(one(agentFile({ dpop: 'required' })).agents.get('test-agent')?.dpop).toBe('required');
    expect(one(agentFile({ dpop: 'optional' })).agents.get('test-agent')?.dpop).toBe('optional');
    expect(one(agentFile()).agents.get('test-agent')?.dpop).toBe('optional');
    for (const bad of ['yes', true, 'REQUIRED']) {
      expect(problemsOf(() => one(agentFile({ dpop: bad })))).toEqual([
        'clients/test-agent.yaml: dpop: must be one of optional, required (RFC 9449 proof of possession)',
      ]);
    }
  });

  it('reads grant_types (default the token-exchange grant; [] withdraws it) and rejects other grants with file and field', () => {
    expect(one(agentFile()).agents.get('test-agent')?.grantTypes).toEqual([TE_GRANT]);
    expect(one(agentFile({ grant_types: [TE_GRANT] })).agents.get('test-agent')?.grantTypes).toEqual([TE_GRANT]);
    expect(one(agentFile({ grant_types: [] })).agents.get('test-agent')?.grantTypes).toEqual([]);
    expect(problemsOf(() => one(agentFile({ grant_types: ['client_credentials'] })))).toEqual([
      `clients/test-agent.yaml: grant_types[0]: "client_credentials" is not a grant this broker serves (it serves only ${TE_GRANT}); use [] to withdraw the grant`,
    ]);
    expect(problemsOf(() => one(agentFile({ grant_types: [TE_GRANT, TE_GRANT] })))).toEqual([
      `clients/test-agent.yaml: grant_types[1]: repeats the grant type "${TE_GRANT}"`,
    ]);
    expect(problemsOf(() => one(agentFile({ grant_types: TE_GRANT })))).toHaveLength(1);
    expect(problemsOf(() => one(agentFile({ grant_types: TE_GRANT })))[0]).toMatch(/^clients\/test-agent\.yaml: grant_types: /u);
  });

  it('accepts private_key_jwt with public keys, keeping only JWK members it knows', () => {
    const jwk = publicJwk();
    const agent = one(agentFile({ authentication: { method: 'private_key_jwt', jwks: { keys: [{ ...jwk, x5u: 'https://example.com/cert' }] } } }))
      .agents.get('test-agent')!;
    expect(agent.authentication).toEqual({ method: 'private_key_jwt', jwks: { keys: [jwk] } });
  });

  it('rejects references to unknown tools and scopes', () => {
    const data = agentFile({ tools: { crm: ['crm.accounts.read', 'crm.accounts.delete'], crmx: ['crm.accounts.read'] } });
    expect(problemsOf(() => one(data))).toEqual([
      'clients/test-agent.yaml: tools.crm[1]: scope "crm.accounts.delete" is not defined by tool "crm" (its scopes: crm.accounts.read, crm.accounts.write)',
      'clients/test-agent.yaml: tools.crmx: unknown tool "crmx" (catalog tools: crm, tickets)',
    ]);
    expect(problemsOf(() => one(agentFile({ tools: {} })))).toEqual(['clients/test-agent.yaml: tools: must list at least one tool']);
    expect(problemsOf(() => one(agentFile({ tools: { crm: [], 'Bad Tool': ['x'] } })))).toEqual([
      'clients/test-agent.yaml: tools.crm: must not be empty',
      'clients/test-agent.yaml: tools["Bad Tool"]: must be 1-63 characters of a-z, 0-9, "_" or "-", starting with a letter or digit',
    ]);
  });

  it('rejects a plaintext secret, telling to hash it with `broker hash-secret`', () => {
    const data = agentFile({ authentication: { method: 'client_secret_basic', secret: 'demo-agent-secret' } });
    expect(problemsOf(() => one(data))).toEqual([
      'clients/test-agent.yaml: authentication.secret_hash: is required',
      'clients/test-agent.yaml: authentication.secret: plaintext client secrets are never stored; hash the secret with `broker hash-secret` and put the result in authentication.secret_hash',
    ]);
    expect(problemsOf(() => one(agentFile({ authentication: { method: 'client_secret_basic', secret_hash: 'demo-agent-secret' } })))).toEqual([
      'clients/test-agent.yaml: authentication.secret_hash: must be a hash produced by `broker hash-secret` (scrypt$N$r$p$salt$hash)',
    ]);
  });

  it('rejects an unknown authentication method', () => {
    expect(problemsOf(() => one(agentFile({ authentication: { method: 'client_secret_post', secret_hash: 'x' } })))).toEqual([
      'clients/test-agent.yaml: authentication.method: must be one of client_secret_basic, private_key_jwt',
    ]);
    expect(problemsOf(() => one(agentFile({ authentication: {} })))).toEqual([
      'clients/test-agent.yaml: authentication.method: is required (one of client_secret_basic, private_key_jwt)',
    ]);
  });

  it('rejects private key material and non-signing keys in jwks', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'leaked' };
    const data = agentFile({
      authentication: {
        method: 'private_key_jwt',
        jwks: { keys: [privateJwk, { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }, { ...publicJwk(), kid: undefined, alg: 'HS256' }] },
      },
    });
    const privateMessage = (member: string) =>
      `is private key material: register only the agent's PUBLIC key (remove "${member}"; the private key stays with the agent)`;
    expect(problemsOf(() => one(data))).toEqual([
      `clients/test-agent.yaml: authentication.jwks.keys[0].d: ${privateMessage('d')}`,
      'clients/test-agent.yaml: authentication.jwks.keys[1].kty: must be one of EC, RSA, OKP (public signing keys)',
      `clients/test-agent.yaml: authentication.jwks.keys[1].k: ${privateMessage('k')}`,
      'clients/test-agent.yaml: authentication.jwks.keys[2].kid: is required',
      'clients/test-agent.yaml: authentication.jwks.keys[2].alg: "HS256" is a shared-secret (HMAC) algorithm and is never accepted; use an asymmetric algorithm such as ES256 or RS256',
    ]);
    const noY = { ...publicJwk() };
    delete noY.y;
    expect(problemsOf(() => one(agentFile({ authentication: { method: 'private_key_jwt', jwks: { keys: [noY, { ...publicJwk(), kid: 'key-2' }] } } })))).toEqual([
      'clients/test-agent.yaml: authentication.jwks.keys[0].y: is required for kty "EC"',
    ]);
    expect(problemsOf(() => one(agentFile({ authentication: { method: 'private_key_jwt', jwks: { keys: [publicJwk(), publicJwk()] } } })))).toEqual([
      'clients/test-agent.yaml: authentication.jwks.keys[1].kid: repeats the kid "key-1"',
    ]);
  });

  it('rejects a dev_only agent in production mode', () => {
    expect(problemsOf(() => one(agentFile({ dev_only: true }), 'production'))).toEqual([
      'clients/test-agent.yaml: dev_only: this is a development-only sample identity and is refused in production mode; remove the file from the clients directory',
    ]);
    expect(one(agentFile({ dev_only: true })).agents.get('test-agent')!.devOnly).toBe(true);
  });

  it('rejects duplicate client ids, naming both files', () => {
    expect(
      problemsOf(() =>
        buildAgents(
          [
            { source: 'clients/a.yaml', data: agentFile() },
            { source: 'clients/b.yaml', data: agentFile() },
          ],
          catalog,
          'development',
        ),
      ),
    ).toEqual(['clients/b.yaml: client_id: duplicate client_id "test-agent": already registered in clients/a.yaml']);
  });

  it('validates the remaining fields', () => {
    const data = agentFile({ client_id: '-bad', status: 'paused', max_ttl: '2h', owner: '', actor_token: { allowed: false, subjects: ['x'] } });
    delete data.name;
    expect(problemsOf(() => one(data))).toEqual([
      'clients/test-agent.yaml: client_id: must be 1-128 characters of A-Z, a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
      'clients/test-agent.yaml: name: is required',
      'clients/test-agent.yaml: owner: must not be empty',
      'clients/test-agent.yaml: status: must be one of active, suspended',
      'clients/test-agent.yaml: max_ttl: must be at most 1h (got 2h)',
      'clients/test-agent.yaml: actor_token.subjects: must be empty when actor_token.allowed is false',
    ]);
  });
});

describe('loadAgents', () => {
  it('reads every agent file in a directory', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'a.yaml': agentFile({ client_id: 'a' }), 'b.yml': agentFile({ client_id: 'b' }) });
    const registry = await loadAgents(dir, catalog, 'production');
    expect([...registry.agents.keys()]).toEqual(['a', 'b']);
  });
});
