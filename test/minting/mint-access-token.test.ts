import { describe, expect, it } from 'vitest';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { Agent } from '../../src/domain/agent.js';
import type { Grant } from '../../src/domain/exchange.js';
import { mintAccessToken } from '../../src/minting/mint-access-token.js';
import { createCompactSigner } from '../../src/minting/compact-signer.js';
import { testSigner } from '../attribution/helpers.js';

const ISSUER = 'https://broker.example';
const NOW = 1_800_000_000;

const grant = {
  decision: 'granted',
  tool: { id: 'crm', resource: 'https://crm.example/api', description: '', scopes: new Map(), maxTtlSeconds: 300, timeWindows: [], source: 't' },
  subject: { iss: 'https://idp.example', sub: 'alice' },
  act: { sub: 'agent-7', client_id: 'agent-7', act: { sub: 'planner' } },
  scopes: { requested: ['crm.read', 'crm.write'], granted: ['crm.read'], dropped: [{ scope: 'crm.write', reason: 'not_justified' }] },
  iat: NOW,
  exp: NOW + 120,
  lifetimeBoundBy: 'tool_max_ttl',
  issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
} as unknown as Grant;
const agent = { clientId: 'agent-7' } as unknown as Agent;

describe('mintAccessToken on the synchronous compact signer', () => {
  it('produces an at+jwt that jose verifies against the public key, with exactly the granted claims', async () => {
    const key = await testSigner();
    const minted = mintAccessToken(grant, agent, ISSUER, key);
    const jwks = createLocalJWKSet({ keys: [key.publicJwk] });
    const { payload, protectedHeader } = await jwtVerify(minted.token, jwks, {
      issuer: ISSUER,
      audience: 'https://crm.example/api',
      typ: 'at+jwt',
      algorithms: ['ES256'],
      currentDate: new Date((NOW + 10) * 1000),
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' });
    expect(payload).toEqual({
      iss: ISSUER,
      sub: 'alice',
      aud: 'https://crm.example/api',
      client_id: 'agent-7',
      scope: 'crm.read',
      act: { sub: 'agent-7', client_id: 'agent-7', act: { sub: 'planner' } },
      tool: 'crm',
      iat: NOW,
      exp: NOW + 120,
      jti: minted.jti,
    });
    expect(minted).toMatchObject({ iat: NOW, exp: NOW + 120 });
    expect(minted.jti).toMatch(/^[A-Za-z0-9_-]{22}$/u);
  });

  it('binds a DPoP token with cnf.jkt and never adds cnf otherwise', async () => {
    const key = await testSigner();
    const bound = mintAccessToken(grant, agent, ISSUER, key, { dpopJkt: 'thumbprint-of-the-agent-key' });
    const plain = mintAccessToken(grant, agent, ISSUER, key);
    const jwks = createLocalJWKSet({ keys: [key.publicJwk] });
    const opts = { currentDate: new Date((NOW + 10) * 1000) };
    expect((await jwtVerify(bound.token, jwks, opts)).payload.cnf).toEqual({ jkt: 'thumbprint-of-the-agent-key' });
    expect((await jwtVerify(plain.token, jwks, opts)).payload).not.toHaveProperty('cnf');
  });

  it('gives every token a distinct jti', async () => {
    const key = await testSigner();
    const jtis = new Set(Array.from({ length: 200 }, () => mintAccessToken(grant, agent, ISSUER, key).jti));
    expect(jtis.size).toBe(200);
  });

  it('emits fixed-width (IEEE P1363) signatures that another key does not verify', async () => {
    const key = await testSigner();
    const other = await testSigner();
    const { token } = mintAccessToken(grant, agent, ISSUER, key);
    const signature = Buffer.from(token.split('.')[2] ?? '', 'base64url');
    expect(signature).toHaveLength(64);
    expect(decodeProtectedHeader(token).kid).toBe(key.kid);
    await expect(compactVerify(token, createLocalJWKSet({ keys: [{ ...other.publicJwk, kid: key.kid }] }))).rejects.toThrow(/signature verification failed/u);
  });

  it('refuses keys it cannot sign ES256 with', async () => {
    const key = await testSigner();
    expect(() => createCompactSigner({ ...key.privateJwk, d: undefined }, 'at+jwt')).toThrow(/EC P-256 private JWK/u);
    expect(() => createCompactSigner({ kty: 'RSA', kid: 'r', d: 'x' }, 'at+jwt')).toThrow(/EC P-256 private JWK/u);
    expect(() => createCompactSigner({ ...key.privateJwk, kid: undefined }, 'at+jwt')).toThrow(/with a kid/u);
  });
});

describe('newTokenId', () => {
  it('gives 128-bit base64url ids that do not repeat across pool refills', async () => {
    const { newTokenId } = await import('../../src/minting/token-id.js');
    const ids = Array.from({ length: 1000 }, () => newTokenId()); // ~4 refills of the 4 KiB pool
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    expect(ids.filter((id) => id === 'AAAAAAAAAAAAAAAAAAAAAA')).toEqual([]);
  });
});
