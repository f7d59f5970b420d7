/**
 * Request framing and parameter abuse at POST /token (STANDARDS 1-5, 9, 10, 14): methods, content types,
 * repeated parameters, credentials in the URL query, oversized bodies, unsupported token types and grants.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectDenied, expectGranted, ID_TOKEN_TYPE, JWT_TYPE, REFRESH_TOKEN_TYPE, SAML2_TYPE } from '../support/attack-kit.js';
import { startAttackBed, SUPPORT_SECRET, type AttackBed } from '../support/attack-bed.js';
import { CRM } from '../support/catalog.js';
import { AT_TYPE, basic, form, TE_GRANT } from '../support/token-request.js';

let bed: AttackBed;
let userToken: string;

beforeAll(async () => {
  bed = await startAttackBed();
  userToken = await bed.idp.userToken('alice');
});

afterAll(async () => {
  await bed.close();
});

const BAD_REQUEST = { status: 400, error: 'invalid_request' } as const;

function goodParams(extra: Record<string, string | string[] | undefined> = {}) {
  return { grant_type: TE_GRANT, subject_token: userToken, subject_token_type: AT_TYPE, resource: CRM, scope: 'crm.accounts.read', ...extra };
}

describe('positive control', () => {
  it('grants a well-framed request', async () => {
    expectGranted(await bed.client.send({ auth: bed.support, params: goodParams() }));
  });
});

describe('method and content type', () => {
  it('GET /token -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, method: 'GET', contentType: null });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_method' });
  });

  it('PUT /token with a good form body -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, method: 'PUT', params: goodParams() });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_method' });
  });

  it('JSON body -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, contentType: 'application/json', body: JSON.stringify(goodParams()) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_content_type' });
  });

  it('multipart body -> 400 invalid_request', async () => {
    const data = new FormData();
    for (const [k, v] of Object.entries(goodParams())) if (typeof v === 'string') data.append(k, v);
    const encoded = new Response(data);
    const res = await bed.client.send({
      auth: bed.support,
      contentType: encoded.headers.get('content-type'),
      body: new Uint8Array(await encoded.arrayBuffer()),
      secrets: [userToken],
    });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_content_type' });
  });

  it('no content type at all -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, contentType: null, body: new TextEncoder().encode(form(goodParams())), secrets: [userToken] });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_content_type' });
  });

  it('form-encoded body labelled text/plain -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, contentType: 'text/plain', body: form(goodParams()), secrets: [userToken] });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_content_type' });
  });
});

describe('credentials and tokens in the URL query', () => {
  it('subject_token in the query -> 400 invalid_request, and the record does not contain it', async () => {
    const res = await bed.client.send({
      auth: bed.support,
      query: `?subject_token=${encodeURIComponent(userToken)}`,
      params: goodParams({ subject_token: undefined }),
      secrets: [userToken],
    });
    const record = expectDenied(res, { ...BAD_REQUEST, reason: 'request_query_parameters' });
    expect(JSON.stringify(record)).not.toContain(userToken);
  });

  it('client_secret in the query -> 400 invalid_request, and the record does not contain it', async () => {
    const res = await bed.client.send({
      query: `?client_id=support-agent&client_secret=${encodeURIComponent(SUPPORT_SECRET)}`,
      params: goodParams(),
      secrets: [SUPPORT_SECRET],
    });
    const record = expectDenied(res, { ...BAD_REQUEST, reason: 'request_query_parameters' });
    expect(JSON.stringify(record)).not.toContain(SUPPORT_SECRET);
  });

  it('an otherwise good request with any query string -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, query: '?debug=1', params: goodParams() });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_query_parameters' });
  });
});

function chunked(body: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < body.length; i += 8192) controller.enqueue(body.slice(i, i + 8192));
      controller.close();
    },
  });
}

describe('oversized bodies', () => {
  it('a small chunked body (no Content-Length) is still accepted (positive control)', async () => {
    const res = await bed.client.send({ auth: bed.support, body: chunked(new TextEncoder().encode(form(goodParams()))), secrets: [userToken] });
    expectGranted(res);
  });

  it('a body larger than limits.maxBodyBytes -> 413, without reading it', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ padding: 'x'.repeat(60_000) }) });
    expectDenied(res, { status: 413, error: 'invalid_request', reason: 'request_too_large' });
  });

  it('a chunked body (no Content-Length) larger than limits.maxBodyBytes -> 413', async () => {
    // 50 000 bytes: above the broker's 49 152-byte limit, below oidc-provider's own 56 KiB cap.
    const body = new TextEncoder().encode(form(goodParams({ padding: 'x'.repeat(50_000 - form(goodParams()).length - 9) })));
    expect(body.length).toBeGreaterThan(49_152);
    const res = await bed.client.send({ auth: bed.support, body: chunked(body), secrets: [userToken] });
    expectDenied(res, { status: 413, error: 'invalid_request', reason: 'request_too_large' });
  });
});

describe('the body is UTF-8 after percent-decoding (RFC 6749 Appendix B)', () => {
  const bytes = (...parts: (string | number[])[]) => {
    const chunks = parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p)));
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  };
  const good = () => form(goodParams());

  it.each([
    ['an escaped 0xFF in an ignored parameter', () => `${good()}&note=%FF`],
    ['an escaped invalid byte in a parameter name', () => `${good()}&n%C3te=1`],
    ['an overlong "/" (%C0%AF) in the scope', () => form(goodParams({ scope: 'crm.accounts.read' })).replace('scope=', 'scope=%C0%AF')],
    ['a lone surrogate (%ED%A0%80) in the resource', () => good().replace(/resource=[^&]*/u, `resource=${encodeURIComponent(CRM)}%ED%A0%80`)],
    ['a sequence cut by the end of the body', () => `${good()}&note=%E2%82`],
    ['a sequence cut by a separator', () => `${good()}&note=%E2%82&x=1`],
  ])('%s -> 400 invalid_request request_malformed', async (_name, body) => {
    const res = await bed.client.send({ auth: bed.support, body: body(), secrets: [userToken] });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_malformed' });
  });

  it('a raw (unescaped) invalid byte -> 400 invalid_request request_malformed', async () => {
    const res = await bed.client.send({ auth: bed.support, body: bytes(good(), '&note=', [0xff, 0xfe]), secrets: [userToken] });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_malformed' });
  });

  it('an invalid sequence in a chunked body (no Content-Length) -> 400 invalid_request request_malformed', async () => {
    const res = await bed.client.send({ auth: bed.support, body: chunked(bytes(`${good()}&note=%C3%28`)), secrets: [userToken] });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_malformed' });
  });

  it('valid multi-byte UTF-8, escaped or raw, is accepted (positive controls)', async () => {
    expectGranted(await bed.client.send({ auth: bed.support, body: `${good()}&note=%E2%9C%93%F0%9F%94%91`, secrets: [userToken] }));
    expectGranted(await bed.client.send({ auth: bed.support, body: bytes(good(), '&note=caf\u00e9 \u2713'), secrets: [userToken] }));
    expectGranted(await bed.client.send({ auth: bed.support, body: `${good()}&note=100%25&odd=%zz%`, secrets: [userToken] }));
  });

  it('a charset other than UTF-8 -> 400 invalid_request request_content_type; utf-8 is accepted', async () => {
    const latin1 = await bed.client.send({ auth: bed.support, contentType: 'application/x-www-form-urlencoded; charset=ISO-8859-1', body: good(), secrets: [userToken] });
    expectDenied(latin1, { ...BAD_REQUEST, reason: 'request_content_type' });
    expectGranted(await bed.client.send({ auth: bed.support, contentType: 'application/x-www-form-urlencoded; charset="UTF-8"', body: good(), secrets: [userToken] }));
  });
});

describe('repeated parameters', () => {
  // Tables are built before beforeAll runs, so each row builds its parameters at run time.
  it.each([
    ['subject_token', () => ({ subject_token: [userToken, userToken] })],
    ['scope', () => ({ scope: ['crm.accounts.read', 'crm.accounts.write'] })],
    ['grant_type', () => ({ grant_type: [TE_GRANT, TE_GRANT] })],
    ['subject_token_type', () => ({ subject_token_type: [AT_TYPE, AT_TYPE] })],
    ['requested_token_type', () => ({ requested_token_type: [AT_TYPE, JWT_TYPE] })],
  ])('two %s values -> 400 invalid_request', async (_name, dup) => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams(dup()) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_malformed' });
  });
});

describe('token types and grant types', () => {
  it('missing subject_token -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ subject_token: undefined }) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'subject_token_missing' });
  });

  it('empty subject_token (= omitted) -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ subject_token: '' }) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'subject_token_missing' });
  });

  it('missing subject_token_type -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ subject_token_type: undefined }) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'subject_token_type_unsupported' });
  });

  it.each([
    ['refresh_token', REFRESH_TOKEN_TYPE],
    ['id_token (not enabled)', ID_TOKEN_TYPE],
    ['saml2', SAML2_TYPE],
    ['unknown URN', 'urn:example:token-type:magic'],
    ['access_token in another case', AT_TYPE.toUpperCase()],
  ])('subject_token_type %s -> 400 invalid_request', async (_name, type) => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ subject_token_type: type }) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'subject_token_type_unsupported' });
  });

  it.each([
    ['refresh_token', REFRESH_TOKEN_TYPE],
    ['id_token', ID_TOKEN_TYPE],
  ])('requested_token_type %s -> 400 invalid_request', async (_name, type) => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ requested_token_type: type }) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'requested_token_type_unsupported' });
  });

  it('grant_type=client_credentials -> 400 unsupported_grant_type', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ grant_type: 'client_credentials' }) });
    expectDenied(res, { status: 400, error: 'unsupported_grant_type', reason: 'unsupported_grant_type' });
  });

  it('grant_type=refresh_token -> 400 unsupported_grant_type', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(32) }) });
    expectDenied(res, { status: 400, error: 'unsupported_grant_type', reason: 'unsupported_grant_type' });
  });

  it('grant_type=authorization_code -> 400 unsupported_grant_type', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ grant_type: 'authorization_code', code: 'abc' }) });
    expectDenied(res, { status: 400, error: 'unsupported_grant_type', reason: 'unsupported_grant_type' });
  });

  it('grant_type missing -> 400 invalid_request', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ grant_type: undefined }) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'request_malformed' });
  });

  it('a client-supplied lifetime is ignored (positive control: exp stays within the tool TTL)', async () => {
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ expires_in: '86400', exp: '9999999999' }) });
    expectGranted(res);
    expect(res.body.expires_in).toBeLessThanOrEqual(300);
    expect(res.text).not.toContain('86400');
  });

  it('unknown parameters are never echoed', async () => {
    const marker = 'zz-unknown-param-marker-zz';
    const res = await bed.client.send({ auth: bed.support, params: goodParams({ subject_token_type: REFRESH_TOKEN_TYPE, [marker]: marker }) });
    expectDenied(res, { ...BAD_REQUEST, reason: 'subject_token_type_unsupported' });
    expect(res.text).not.toContain(marker);
  });
});

describe('attribution sink failure', () => {
  it('a grant whose record cannot be written is withheld: 503, no token', async () => {
    bed.broker.sink.failing = true;
    try {
      const res = await bed.client.send({ auth: bed.support, params: goodParams() });
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('temporarily_unavailable');
      expect(res.body.access_token).toBeUndefined();
      expect(res.text).not.toMatch(/eyJ[\w-]*\.eyJ/u);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
      expect(res.appended).toBe(0);
    } finally {
      bed.broker.sink.failing = false;
    }
  });
});

describe('attribution hygiene', () => {
  it('Basic credentials sent in this file never reach a record', () => {
    expect(JSON.stringify(bed.broker.sink.records)).not.toContain(basic('support-agent', SUPPORT_SECRET).slice(6));
  });

  it('no attribution record contains a raw token that was sent', () => {
    const all = JSON.stringify(bed.broker.sink.records);
    expect(bed.client.sent.has(userToken)).toBe(true);
    for (const token of bed.client.sent) expect(all).not.toContain(token);
  });
});
