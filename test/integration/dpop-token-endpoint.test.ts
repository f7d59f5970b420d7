/**
 * DPoP (RFC 9449) at the token endpoint, against a real broker and real upstream user tokens: a valid
 * proof yields a token bound to the proof key (`cnf.jkt`, `token_type: DPoP`); an agent registered with
 * `dpop: required` is refused without one; every broken or replayed proof is refused with
 * 400 invalid_dpop_proof, no token, and exactly one denial record with its reason code. Replays are
 * caught across two broker replicas sharing Redis.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint, decodeJwt } from 'jose';
import { isExchangeRecord } from '../../src/attribution/record.js';
import { RedisState } from '../../src/state/redis-state.js';
import { AttackClient, asymmetricSigner, expectDenied, expectGranted, type Attempt } from '../support/attack-kit.js';
import { secretAgent, startAttackBed, SUPPORT_SECRET, type AttackBed } from '../support/attack-bed.js';
import { reserveBroker, trustedIssuer, type RunningTestBroker } from '../support/broker-harness.js';
import { CRM, testCatalog } from '../support/catalog.js';
import { dpopKey, hmacSigner, proof, unsigned, type DpopTestKey, type ProofOptions } from '../support/dpop-kit.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.js';
import { startUpstreamIdp, type UpstreamIdp } from '../support/upstream-idp.js';
import { AT_TYPE, basic, form, TE_GRANT } from '../support/token-request.js';

const REQUIRED_SECRET = 'dpop-required-agent-secret';
const required = { kind: 'basic', clientId: 'dpop-required-agent', secret: REQUIRED_SECRET } as const;
const CRM_READ = { resource: CRM, scope: 'crm.accounts.read' };

let bed: AttackBed;
let key: DpopTestKey;
let other: DpopTestKey;
let tokenUrl: string;

beforeAll(async () => {
  bed = await startAttackBed({
    agents: [await secretAgent('dpop-required-agent', REQUIRED_SECRET, { crm: ['crm.accounts.read'] }, { dpop: 'required' })],
  });
  key = await dpopKey();
  other = await dpopKey();
  tokenUrl = `${bed.broker.issuer}/token`;
});
afterAll(async () => { await bed.close(); });

/** A token exchange by `support-agent` (DPoP optional) carrying `dpop` as its DPoP header. */
async function withProof(dpop: string, auth: Parameters<AttackBed['client']['exchange']>[0] = bed.support): Promise<Attempt> {
  return bed.client.exchange(auth, { subject_token: await bed.userToken(), ...CRM_READ }, { headers: { dpop }, secrets: [dpop] });
}

const invalid = (res: Attempt, reason = 'dpop_proof_invalid') => expectDenied(res, { status: 400, error: 'invalid_dpop_proof', reason });
const good = (opts: Partial<ProofOptions> = {}) => proof(key, { url: tokenUrl, ...opts });

describe('a DPoP-bound exchange', () => {
  it('binds the token to the proof key: cnf.jkt, token_type DPoP, jkt in the granted record', async () => {
    const dpop = good();
    const res = await bed.client.exchange(bed.support, { subject_token: await bed.idp.userToken('alice'), ...CRM_READ }, { headers: { dpop }, secrets: [dpop] });
    const record = expectGranted(res);
    const jkt = await calculateJwkThumbprint(key.publicJwk);
    expect(res.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(res.body.access_token))).toMatchObject({ sub: 'alice', aud: CRM, cnf: { jkt } });
    expect(record.token).toMatchObject({ dpop_jkt: jkt });
  });

  it('without a proof, an agent with dpop optional gets a Bearer token with no cnf', async () => {
    const res = await bed.client.exchange(bed.support, { subject_token: await bed.idp.userToken('alice'), ...CRM_READ });
    const record = expectGranted(res);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(String(res.body.access_token)).cnf).toBeUndefined();
    expect(record.token?.dpop_jkt).toBeUndefined();
  });

  it('accepts htu with a query or fragment and in another spelling of the same URL (RFC 9449 §4.3)', async () => {
    const spelled = tokenUrl.replace('http://', 'HTTP://') + '?x=1#frag';
    expect((await withProof(good({ url: spelled }))).status).toBe(200);
  });

  it('advertises dpop_signing_alg_values_supported in the metadata (asymmetric only)', async () => {
    const meta = await (await fetch(`${bed.broker.issuer}/.well-known/oauth-authorization-server`)).json() as Record<string, unknown>;
    expect(meta.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'EdDSA']));
    expect(meta.dpop_signing_alg_values_supported).not.toContain('HS256');
    expect(meta.dpop_signing_alg_values_supported).not.toContain('none');
  });
});

describe('an agent registered with dpop: required', () => {
  it('is refused without a proof: 400 invalid_dpop_proof, reason dpop_proof_required', async () => {
    const res = await bed.client.exchange(required, { subject_token: await bed.idp.userToken('alice'), ...CRM_READ });
    const record = expectDenied(res, { status: 400, error: 'invalid_dpop_proof', reason: 'dpop_proof_required' });
    expect(record.agent).toEqual({ client_id: 'dpop-required-agent', authenticated: true });
  });

  it('gets a DPoP-bound token with a valid proof', async () => {
    const dpop = good();
    const res = await bed.client.exchange(required, { subject_token: await bed.idp.userToken('alice'), ...CRM_READ }, { headers: { dpop }, secrets: [dpop] });
    expectGranted(res);
    expect(res.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(res.body.access_token)).cnf).toEqual({ jkt: await calculateJwkThumbprint(key.publicJwk) });
  });

  it('is refused with an invalid proof too (never downgraded to Bearer)', async () => {
    invalid(await withProof(good({ method: 'GET' }), required));
  });
});

describe('proof attacks at the token endpoint', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it.each([
    ['wrong htm (GET)', () => good({ method: 'GET' })],
    ['wrong htm (lower-case post)', () => good({ method: 'post' })],
    ['wrong htu: another endpoint of the broker', () => good({ url: `${bed.broker.issuer}/revoke` })],
    ['wrong htu: another host', () => good({ url: 'https://evil.example.com/token' })],
    ['wrong htu: another port', () => good({ url: tokenUrl.replace(/:(\d+)\//u, (_m, p: string) => `:${String(Number(p) + 1)}/`) })],
    ['stale iat (2 min old)', () => good({ claims: { iat: now() - 120 } })],
    ['future iat (1 min ahead)', () => good({ claims: { iat: now() + 60 } })],
    ['iat missing', () => good({ claims: { iat: undefined } })],
    ['iat a string', () => good({ claims: { iat: String(now()) } })],
    ['jti missing', () => good({ claims: { jti: undefined } })],
    ['htm missing', () => good({ claims: { htm: undefined } })],
    ['htu missing', () => good({ claims: { htu: undefined } })],
    ['no jwk header', () => good({ header: { jwk: undefined } })],
    ['private jwk in the header', () => good({ header: { jwk: key.privateJwk } })],
    ['symmetric jwk in the header', () => good({ header: { jwk: { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' } } })],
    ['alg none, unsigned', () => good({ header: { alg: 'none' }, signer: unsigned })],
    ['alg HS256 keyed with the public jwk', () => good({ header: { alg: 'HS256' }, signer: hmacSigner(JSON.stringify(key.publicJwk)) })],
    ['bad signature (one bit flipped)', () => good({ tamper: true })],
    ['signed by another key than its jwk', () => good({ signer: asymmetricSigner(other.privateKey, 'ES256') })],
    ['typ JWT', () => good({ header: { typ: 'JWT' } })],
    ['typ missing', () => good({ header: { typ: undefined } })],
    ['jku pointing elsewhere and no jwk', () => good({ header: { jwk: undefined, jku: 'http://127.0.0.1:1/jwks' } })],
    ['malformed: not a JWT', () => 'not-a-jwt'],
    ['malformed: empty', () => ''],
    ['malformed: four segments', () => `${good()}.x`],
    ['malformed: JSON serialisation', () => JSON.stringify({ payload: 'e30', signatures: [] })],
    ['malformed: oversized', () => `${'A'.repeat(9000)}.e30.sig`],
    ['two proofs joined in one header', () => `${good()}, ${good()}`],
  ])('%s → 400 invalid_dpop_proof, no token, one denial record', async (_name, make) => {
    invalid(await withProof(make()));
  });

  it('a replayed proof (same jti) is refused the second time', async () => {
    const dpop = good();
    expectGranted(await withProof(dpop));
    invalid(await withProof(dpop), 'dpop_proof_replayed');
  });

  it('a proof replayed by another agent is refused too', async () => {
    const dpop = good();
    expectGranted(await withProof(dpop));
    invalid(await withProof(dpop, bed.keyAgent), 'dpop_proof_replayed');
  });

  it('two DPoP header lines → 400 invalid_dpop_proof, no token, one denial record', async () => {
    const subjectToken = await bed.userToken();
    const body = form({ grant_type: TE_GRANT, subject_token: subjectToken, subject_token_type: AT_TYPE, ...CRM_READ });
    const [a, b] = [good(), good()];
    const requestId = `two-dpop-${String(Date.now())}`;
    const before = bed.broker.sink.records.length;
    const started = performance.now();
    const { status, headers, text } = await new Promise<{ status: number; headers: Headers; text: string }>((resolve, reject) => {
      const req = request(bed.broker.tokenEndpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body),
          authorization: basic('support-agent', SUPPORT_SECRET), 'x-request-id': requestId, dpop: [a, b],
        },
      }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { data += c; });
        res.on('end', () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, text: data });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
    const appended = bed.broker.sink.records.slice(before).filter(isExchangeRecord);
    invalid({
      status, headers, text, body: JSON.parse(text) as Record<string, unknown>, records: appended, appended: appended.length,
      concurrent: false, secrets: [a, b, subjectToken, SUPPORT_SECRET], elapsedMs: performance.now() - started,
    });
  });
});

/**
 * A user token that is itself DPoP-bound (`cnf.jkt`, RFC 9449 §6) may only be exchanged by the holder of
 * its key: the request's proof must be made with that key, and the new token is bound to it too.
 */
describe('a DPoP-bound subject token (cnf in the user token)', () => {
  const bound = async (cnf: unknown) => bed.userToken({ cnf });
  const exchangeBound = async (subjectToken: string, dpop?: string) => bed.client.exchange(
    bed.support, { subject_token: subjectToken, ...CRM_READ }, dpop !== undefined ? { headers: { dpop }, secrets: [dpop, subjectToken] } : { secrets: [subjectToken] },
  );
  const mismatch = (res: Attempt) => expectDenied(res, { status: 400, error: 'invalid_dpop_proof', reason: 'subject_token_key_mismatch' });
  const unsupported = (res: Attempt) => expectDenied(res, { status: 400, error: 'invalid_request', reason: 'subject_token_binding_unsupported' });

  it('is exchanged with a proof from its own key, and the new token is bound to the same key', async () => {
    const jkt = await calculateJwkThumbprint(key.publicJwk);
    const res = await exchangeBound(await bound({ jkt }), good());
    const record = expectGranted(res);
    expect(res.body.token_type).toBe('DPoP');
    expect(decodeJwt(String(res.body.access_token)).cnf).toEqual({ jkt });
    expect(record.token).toMatchObject({ dpop_jkt: jkt });
  });

  it('without a proof -> 400 invalid_dpop_proof (subject_token_key_mismatch), no token, one denial record', async () => {
    mismatch(await exchangeBound(await bound({ jkt: await calculateJwkThumbprint(key.publicJwk) })));
  });

  it('with a valid proof from another key (a thief with their own key) -> refused', async () => {
    const res = await exchangeBound(await bound({ jkt: await calculateJwkThumbprint(other.publicJwk) }), good());
    mismatch(res);
  });

  it('stays refused without a proof after the same token was exchanged with one (the verified-token cache keeps cnf)', async () => {
    const token = await bound({ jkt: await calculateJwkThumbprint(key.publicJwk) });
    expectGranted(await exchangeBound(token, good()));
    mismatch(await exchangeBound(token));
  });

  it('a binding the broker cannot check (mTLS x5t#S256) -> 400 invalid_request, even with a good proof', async () => {
    unsupported(await exchangeBound(await bound({ 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }), good()));
  });

  it('jkt together with another method -> refused (every binding must hold, and only jkt can be checked)', async () => {
    const jkt = await calculateJwkThumbprint(key.publicJwk);
    unsupported(await exchangeBound(await bound({ jkt, 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' }), good()));
  });

  it.each([
    ['a string', 'not-an-object'],
    ['null', null],
    ['an array', [{ jkt: 'x' }]],
    ['an empty object', {}],
    ['an empty jkt', { jkt: '' }],
    ['a non-string jkt', { jkt: 42 }],
  ])('a malformed cnf (%s) -> refused as unsupported, never ignored', async (_label, cnf) => {
    unsupported(await exchangeBound(await bound(cnf), good()));
  });
});

const redisUp = await requireRedis('DPoP replay across two brokers sharing Redis');

describe.runIf(redisUp)('two broker replicas sharing Redis', () => {
  const prefix = uniquePrefix();
  let idp: UpstreamIdp;
  let first: RunningTestBroker;
  let second: RunningTestBroker;
  let states: RedisState[];
  const SECRET = 'dpop-replica-agent-secret';

  beforeAll(async () => {
    const reservedA = await reserveBroker();
    const reservedB = await reserveBroker({ issuer: reservedA.issuer });
    idp = await startUpstreamIdp({ audience: reservedA.issuer });
    states = [await RedisState.connect({ url: REDIS_URL, prefix }), await RedisState.connect({ url: REDIS_URL, prefix })];
    const agent = await secretAgent('replica-agent', SECRET, { crm: ['crm.accounts.read'] });
    const common = { trustedIssuers: [trustedIssuer(idp.issuer, reservedA.issuer)], catalog: testCatalog(), agents: [agent] };
    first = await reservedA.start({ ...common, state: states[0]! });
    second = await reservedB.start({ ...common, state: states[1]! });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
    for (const s of states) await s.close();
    await idp.close();
    await cleanupPrefix(prefix);
  });

  it('a proof used at one replica is refused as replayed at the other', async () => {
    const dpop = proof(key, { url: `${first.issuer}/token` });
    const send = async (broker: RunningTestBroker) => {
      const client = new AttackClient(broker);
      return client.exchange({ kind: 'basic', clientId: 'replica-agent', secret: SECRET }, { subject_token: await idp.userToken('alice'), ...CRM_READ }, { headers: { dpop }, secrets: [dpop] });
    };
    const granted = await send(first);
    expectGranted(granted);
    expect(granted.body.token_type).toBe('DPoP');
    invalid(await send(second), 'dpop_proof_replayed');
  });
});
