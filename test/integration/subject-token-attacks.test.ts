/**
 * Attacks on the subject_token (STANDARDS 6, 20-23, "Attack families"): unsigned and alg tricks, signature
 * tampering, key confusion, time claims, untrusted and look-alike issuers, wrong audience, ID tokens,
 * hostile headers (nothing fetched from a header), malformed and oversized tokens, hostile JSON.
 * Every refusal is 400 invalid_request (RFC 8693 §2.2.2), no token, one denied record with a stable reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, type CryptoKey } from 'jose';
import {
  asymmetricSigner, b64u, compactJws, compactJwsRaw, expectDenied, expectGranted, hmacSigner, startCanary, unsigned, type Canary,
} from '../support/attack-kit.js';
import { startAttackBed, type AttackBed } from '../support/attack-bed.js';
import { CRM } from '../support/catalog.js';
import { startTestIssuer, type TestIssuer } from '../support/test-issuer.js';

let bed: AttackBed;
let untrusted: TestIssuer;
let canary: Canary;
let attacker: { privateKey: CryptoKey; publicKey: CryptoKey };

beforeAll(async () => {
  bed = await startAttackBed();
  untrusted = await startTestIssuer();
  canary = await startCanary({ keys: [] });
  attacker = await generateKeyPair('ES256', { extractable: true });
});

afterAll(async () => {
  await bed.close();
  await untrusted.close();
  await canary.close();
});

const CRM_READ = { resource: CRM, scope: 'crm.accounts.read' };

function present(subjectToken: string) {
  return bed.client.exchange(bed.support, { ...CRM_READ, subject_token: subjectToken });
}

async function expectInvalidSubject(subjectToken: string, reason = 'subject_token_invalid') {
  const res = await present(subjectToken);
  return expectDenied(res, { status: 400, error: 'invalid_request', reason });
}

describe('positive controls', () => {
  it('grants a well-formed token from the trusted test issuer', async () => {
    const record = expectGranted(await present(await bed.userToken()));
    expect(record.user).toEqual({ iss: bed.issuer.issuer, sub: 'alice' });
  });

  it('grants a real token from the upstream IdP', async () => {
    expectGranted(await present(await bed.idp.userToken('alice')));
  });
});

describe('unsigned tokens, alg tricks and signature tampering', () => {
  it('refuses a token with a trusted iss signed by an untrusted key (forgery)', async () => {
    const forged = await untrusted.sign(bed.claims({ sub: 'carol' }));
    await expectInvalidSubject(forged);
  });

  it('refuses a validly signed token whose payload was altered afterwards', async () => {
    const good = await bed.userToken();
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = `${header}.${b64u(JSON.stringify({ ...claims, sub: 'carol' }))}.${signature}`;
    await expectInvalidSubject(tampered);
  });

  it('refuses a token whose signature had one byte flipped', async () => {
    const good = await bed.userToken();
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const sig = Buffer.from(signature, 'base64url');
    sig[10] = (sig[10] ?? 0) ^ 0x01;
    await expectInvalidSubject(`${header}.${payload}.${b64u(sig)}`);
  });

  it('refuses a real IdP token with its signature stripped', async () => {
    const real = await bed.idp.userToken('alice');
    await expectInvalidSubject(`${real.split('.').slice(0, 2).join('.')}.`);
  });

  it('refuses alg "none" (unsigned)', async () => {
    await expectInvalidSubject(compactJws({ alg: 'none', typ: 'at+jwt' }, bed.claims(), unsigned));
  });

  it('refuses alg "NONE" with a kid of a real key', async () => {
    await expectInvalidSubject(compactJws({ alg: 'NONE', typ: 'at+jwt', kid: 'es-1' }, bed.claims(), unsigned));
  });

  it('refuses HS256 keyed with the issuer\'s public JWK (key confusion)', async () => {
    const publicJwk = bed.issuer.publicJwks.keys[0]!;
    const token = compactJws({ alg: 'HS256', typ: 'at+jwt', kid: 'es-1' }, bed.claims(), hmacSigner(JSON.stringify(publicJwk)));
    await expectInvalidSubject(token);
  });

  it('refuses HS256 keyed with the issuer\'s RSA public key PEM (key confusion)', async () => {
    // The PEM an attacker would use: the issuer's published RSA key, as SPKI.
    const pem = await exportSPKI(await importJWK(bed.issuer.publicJwks.keys[1]!, 'RS256') as CryptoKey);
    const token = compactJws({ alg: 'HS256', typ: 'at+jwt', kid: 'rs-1' }, bed.claims(), hmacSigner(pem));
    await expectInvalidSubject(token);
  });

  it('refuses RS256 from an issuer that only allows ES256 (key published, alg not allowed)', async () => {
    const token = await bed.issuer.sign(bed.claims(), { key: bed.issuer.rs256 });
    await expectInvalidSubject(token);
  });
});

describe('time claims', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses an expired token', async () => {
    await expectInvalidSubject(await bed.userToken({ iat: now() - 600, exp: now() - 120 }), 'subject_token_expired');
  });

  it('refuses a token with no exp', async () => {
    await expectInvalidSubject(await bed.userToken({ exp: undefined }));
  });

  it('refuses a token whose exp is a string', async () => {
    await expectInvalidSubject(await bed.userToken({ exp: String(now() + 600) as unknown as number }));
  });

  it('refuses a token whose nbf is in the future', async () => {
    await expectInvalidSubject(await bed.userToken({ nbf: now() + 3600 }));
  });

  it('refuses a token older than the issuer\'s max_token_age', async () => {
    await expectInvalidSubject(await bed.userToken({ iat: now() - 2 * 3600, exp: now() + 600 }), 'subject_token_expired');
  });

  it('refuses a token issued in the future', async () => {
    await expectInvalidSubject(await bed.userToken({ iat: now() + 3600, exp: now() + 7200 }));
  });
});

describe('issuers, audiences and token types', () => {
  it('refuses a token from an issuer the broker does not trust', async () => {
    const token = await untrusted.sign(bed.claims({ iss: untrusted.issuer }));
    await expectInvalidSubject(token, 'subject_token_untrusted_issuer');
  });

  it.each([
    ['trailing slash', (iss: string) => `${iss}/`],
    ['another port', (iss: string) => iss.replace(/:(\d+)$/u, (_, p: string) => `:${Number(p) + 1}`)],
    ['localhost for 127.0.0.1', (iss: string) => iss.replace('127.0.0.1', 'localhost')],
    ['upper-case scheme', (iss: string) => iss.replace('http://', 'HTTP://')],
  ])('refuses a look-alike of a trusted issuer (%s), even signed with its real key', async (_name, variant) => {
    const token = await bed.issuer.sign(bed.claims({ iss: variant(bed.issuer.issuer) }));
    await expectInvalidSubject(token, 'subject_token_untrusted_issuer');
  });

  it('refuses a token meant for another audience', async () => {
    await expectInvalidSubject(await bed.userToken({ aud: ['https://crm.example.test/api', 'https://elsewhere.example'] }), 'subject_token_wrong_audience');
  });

  it('refuses an ID token (nonce, at_hash) presented as an access token', async () => {
    const idToken = await bed.userToken({ nonce: 'n-0S6_WzA2Mj', at_hash: 'MTIzNDU2Nzg5MDEyMzQ1Ng', auth_time: Math.floor(Date.now() / 1000) });
    await expectInvalidSubject(idToken, 'subject_token_wrong_type');
  });

  it('refuses an ID token with typ JWT', async () => {
    const idToken = await bed.issuer.sign(bed.claims({ nonce: 'abc' }), { header: { typ: 'JWT' } });
    await expectInvalidSubject(idToken, 'subject_token_wrong_type');
  });

  it.each([
    ['JWT', { typ: 'JWT' }],
    ['dpop+jwt', { typ: 'dpop+jwt' }],
    ['no typ at all', { typ: undefined }],
  ])('refuses a wrong typ header (%s)', async (_name, header) => {
    await expectInvalidSubject(await bed.issuer.sign(bed.claims(), { header }), 'subject_token_wrong_type');
  });

  it('refuses a token with no sub', async () => {
    await expectInvalidSubject(await bed.userToken({ sub: undefined }));
  });
});

describe('hostile headers: nothing is fetched from a token header, nothing touches files', () => {
  it('ignores jku pointing at another server (attacker-signed)', async () => {
    const before = canary.hits();
    const token = await bed.issuer.sign(bed.claims(), { key: attacker.privateKey, header: { jku: `${canary.url}/jwks.json` } });
    await expectInvalidSubject(token);
    expect(canary.hits()).toBe(before);
  });

  it('ignores x5u pointing at another server (attacker-signed)', async () => {
    const before = canary.hits();
    const token = await bed.issuer.sign(bed.claims(), { key: attacker.privateKey, header: { x5u: `${canary.url}/cert.pem` } });
    await expectInvalidSubject(token);
    expect(canary.hits()).toBe(before);
  });

  it('ignores an embedded jwk header carrying the attacker\'s key', async () => {
    const jwk = await exportJWK(attacker.publicKey);
    const token = await bed.issuer.sign(bed.claims(), { key: attacker.privateKey, header: { jwk } });
    await expectInvalidSubject(token);
  });

  it('refuses a validly signed token with an unknown crit extension', async () => {
    const token = compactJws(
      { alg: 'ES256', typ: 'at+jwt', kid: 'es-1', crit: ['urn:example:must-understand'], 'urn:example:must-understand': true },
      bed.claims(),
      asymmetricSigner(bed.issuer.es256, 'ES256'),
    );
    await expectInvalidSubject(token);
  });

  it.each([
    ['path traversal', '../../../../etc/passwd'],
    ['file URL', 'file:///etc/passwd'],
    ['SQL', "es-1' OR '1'='1"],
    ['remote URL', 'http://127.0.0.1:1/key'],
  ])('refuses a validly signed token with a hostile kid (%s)', async (_name, kid) => {
    const before = canary.hits();
    const token = await bed.issuer.sign(bed.claims(), { header: { kid } });
    await expectInvalidSubject(token);
    expect(canary.hits()).toBe(before);
  });

  it('never contacted the canary server', () => {
    expect(canary.paths()).toEqual([]);
  });
});

describe('malformed, oversized and hostile-JSON tokens', () => {
  it.each([
    ['two parts', (t: string) => t.split('.').slice(0, 2).join('.')],
    ['four parts', (t: string) => `${t}.${t.split('.')[2]!}`],
    ['five parts (JWE shape)', (t: string) => `${t}.AAAA.BBBB`],
    ['non-base64 characters', (t: string) => t.replace(/^[^.]{4}/u, '!*%$')],
    ['JSON serialisation', (t: string) => JSON.stringify({ payload: t.split('.')[1], signatures: [{ protected: t.split('.')[0], signature: t.split('.')[2] }] })],
    ['whitespace inside', (t: string) => t.replace('.', ' .')],
  ])('refuses a malformed compact serialisation (%s)', async (_name, mangle) => {
    await expectInvalidSubject(mangle(await bed.userToken()));
  });

  it('refuses a payload that is not a JSON object, even validly signed', async () => {
    await expectInvalidSubject(compactJwsRaw({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' }, '["alice"]', asymmetricSigner(bed.issuer.es256, 'ES256')));
  });

  it('refuses a token larger than limits.maxTokenChars, quickly', async () => {
    const huge = await bed.userToken({ padding: 'x'.repeat(20_000) });
    expect(huge.length).toBeGreaterThan(16_384);
    const res = await present(huge);
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'token_too_large' });
  });

  // Nesting deeper than 32 is refused by the strict pre-parser before anything walks the claims (issue 15).
  it('refuses a deeply nested act claim without walking it (JSON depth > 32: subject_token_invalid)', async () => {
    const claims = bed.claims();
    let act = '{"sub":"deepest"}';
    for (let i = 0; i < 450; i += 1) act = `{"sub":"a${i}","act":${act}}`;
    const payload = `${JSON.stringify(claims).slice(0, -1)},"act":${act}}`;
    const token = compactJwsRaw({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' }, payload, asymmetricSigner(bed.issuer.es256, 'ES256'));
    expect(token.length).toBeLessThan(16_384);
    const res = await present(token);
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'subject_token_invalid' });
  });

  it('does not treat a deeply nested scope claim as any scope (JSON depth > 32: subject_token_invalid)', async () => {
    const payload = `${JSON.stringify(bed.claims({ scope: undefined })).slice(0, -1)},"scope":${'['.repeat(4000)}"crm.read"${']'.repeat(4000)}}`;
    const token = compactJwsRaw({ alg: 'ES256', typ: 'at+jwt', kid: 'es-1' }, payload, asymmetricSigner(bed.issuer.es256, 'ES256'));
    const res = await present(token);
    expectDenied(res, { status: 400, error: 'invalid_request', reason: 'subject_token_invalid' });
  });

  it('survives a header nested deeper than a recursive parser\'s stack, and still checks the signature', async () => {
    const header = `{"alg":"ES256","typ":"at+jwt","kid":"es-1","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const input = `${b64u(header)}.${b64u(JSON.stringify(bed.claims()))}`;
    const token = `${input}.${b64u(asymmetricSigner(attacker.privateKey, 'ES256')(input))}`;
    expect(token.length).toBeLessThan(16_384);
    await expectInvalidSubject(token);
  });
});

describe('attribution hygiene', () => {
  it('no attribution record ever contains a raw token that was sent', () => {
    const all = JSON.stringify(bed.broker.sink.records);
    expect(bed.client.sent.size).toBeGreaterThan(20);
    for (const token of bed.client.sent) expect(all).not.toContain(token);
  });
});
