/**
 * The broker's own tokens, as introspection, /revoke and the onward exchange verify them: only a token this
 * broker signed with a key it publishes, `typ: at+jwt`, ES256, its issuer, unexpired, with every claim it
 * always sets. Everything else is "not an active broker token" (undefined), whatever the forgery.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createBrokerTokenVerifier } from '../../src/introspection/verify-broker-token.js';
import { loadSigningKeys, type SigningKeys } from '../../src/keys/signing-keys.js';
import { newTokenId } from '../../src/minting/token-id.js';

const ISSUER = 'https://broker.example';
let keys: SigningKeys;
let verify: ReturnType<typeof createBrokerTokenVerifier>;
const now = () => Date.now();

beforeAll(async () => {
  keys = await loadSigningKeys(await mkdtemp(join(tmpdir(), 'broker-verify-keys-')), { generateIfMissing: true });
  verify = createBrokerTokenVerifier(ISSUER, keys, 5);
});

const CLAIMS = { client_id: 'agent-a', scope: 'crm.read', act: { sub: 'agent-a' } };

function minted(overrides: { claims?: JWTPayload; header?: Record<string, unknown>; exp?: string; iss?: string } = {}) {
  return new SignJWT({ ...CLAIMS, ...overrides.claims })
    .setProtectedHeader({ alg: 'ES256', kid: keys.active.kid, typ: 'at+jwt', ...overrides.header })
    .setIssuer(overrides.iss ?? ISSUER).setSubject('alice').setAudience('crm').setIssuedAt().setExpirationTime(overrides.exp ?? '5m').setJti(newTokenId());
}

describe('verifyBrokerToken', () => {
  it('a token the broker minted (its signer): the payload', async () => {
    const token = keys.active.accessTokenSigner.sign({
      iss: ISSUER, sub: 'alice', aud: 'crm', iat: Math.floor(now() / 1000), exp: Math.floor(now() / 1000) + 300, jti: newTokenId(), ...CLAIMS,
    });
    expect(await verify(token, now())).toMatchObject({ sub: 'alice', client_id: 'agent-a' });
  });

  it('accepts typ as jose compares it (case, application/ prefix), refuses any other typ or none', async () => {
    expect(await verify(await minted({ header: { typ: 'application/AT+JWT' } }).sign(keys.active.privateKey), now())).toBeDefined();
    for (const typ of ['JWT', 'at+jwt ', undefined]) {
      const token = await minted({ header: { typ } }).sign(keys.active.privateKey);
      expect(await verify(token, now())).toBeUndefined();
    }
  });

  it('refuses a signature that does not verify: altered payload, flipped signature, stripped signature', async () => {
    const token = await minted().sign(keys.active.privateKey);
    const [h, p, s] = token.split('.') as [string, string, string];
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), scope: 'crm.read crm.write' })).toString('base64url');
    expect(await verify(`${h}.${widened}.${s}`, now())).toBeUndefined();
    const flipped = Buffer.from(s, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(await verify(`${h}.${p}.${flipped.toString('base64url')}`, now())).toBeUndefined();
    expect(await verify(`${h}.${p}.`, now())).toBeUndefined();
  });

  it('refuses a token signed by a key the broker does not publish, even under its kid', async () => {
    const other = await generateKeyPair('ES256');
    expect(await verify(await minted().sign(other.privateKey), now())).toBeUndefined();
  });

  it('refuses alg none and HS256 keyed with the broker\'s public key (algorithm confusion)', async () => {
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: keys.active.kid, typ: 'at+jwt' })).toString('base64url')}.${(await minted().sign(keys.active.privateKey)).split('.')[1]}.`;
    expect(await verify(none, now())).toBeUndefined();
    const { d: _d, ...publicJwk } = keys.active.privateJwk;
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const hs = await minted({ header: { alg: 'HS256' } }).sign(secret);
    expect(await verify(hs, now())).toBeUndefined();
  });

  it('refuses another issuer, an expired token, a missing claim the broker always sets', async () => {
    expect(await verify(await minted({ iss: 'https://other.example' }).sign(keys.active.privateKey), now())).toBeUndefined();
    expect(await verify(await minted({ exp: '-1m' }).sign(keys.active.privateKey), now())).toBeUndefined();
    expect(await verify(await minted({ claims: { client_id: undefined } }).sign(keys.active.privateKey), now())).toBeUndefined();
  });
});
