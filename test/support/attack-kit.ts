/**
 * Tools for adversarial token-endpoint tests: a raw HTTP client that remembers every credential it sent and
 * which attribution records each request produced, `expectDenied` (the one shape every refusal must have),
 * hand-made JWS (for tokens jose would refuse to sign), private_key_jwt assertions, and a canary HTTP server
 * that counts the requests it receives (to prove nothing is fetched from a token header).
 */
import { isExchangeRecord } from '../../src/attribution/record.js';
import { createHmac, KeyObject, randomUUID, sign as nodeSign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import type { ExchangeRecord } from '../../src/attribution/record.js';
import type { RunningTestBroker } from './broker-harness.js';
import { AT_TYPE, basic, form, TE_GRANT, type RawResponse } from './token-request.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';
export const SAML2_TYPE = 'urn:ietf:params:oauth:token-type:saml2';

export type Params = Record<string, string | readonly string[] | undefined>;

export type ClientAuth =
  | { readonly kind: 'basic'; readonly clientId: string; readonly secret: string }
  | { readonly kind: 'private_key_jwt'; readonly clientId: string; readonly key: CryptoKey; readonly kid: string }
  | { readonly kind: 'none' };

/** One HTTP answer from the token endpoint plus what the broker recorded while producing it. */
export interface Attempt extends RawResponse {
  /** Attribution records of this request (matched by the request id the client sent). */
  readonly records: readonly ExchangeRecord[];
  /** How many records the sink gained while this request was handled (any request's). */
  readonly appended: number;
  /** Sent alongside other requests: `appended` then says nothing about this one. */
  readonly concurrent: boolean;
  /** Every token or credential the request carried (body, query or header), for "never logged" checks. */
  readonly secrets: readonly string[];
  readonly elapsedMs: number;
}

export interface SendOptions {
  /** Form parameters (ignored when `body` is given). */
  readonly params?: Params;
  readonly auth?: ClientAuth;
  /** A raw body, sent as is. */
  readonly body?: string | Uint8Array | ReadableStream<Uint8Array>;
  readonly contentType?: string | null;
  readonly headers?: Record<string, string>;
  readonly method?: string;
  /** Appended to the token endpoint URL (e.g. `?client_secret=...`). */
  readonly query?: string;
  /** Extra values to treat as secrets (never to appear in a record). */
  readonly secrets?: readonly string[];
  /** Other requests run at the same time (records are then matched by request id only). */
  readonly concurrent?: boolean;
}

const SECRET_PARAMS = ['subject_token', 'actor_token', 'client_assertion', 'client_secret'] as const;

/** A private_key_jwt client assertion (RFC 7523 §3); every claim and the header can be overridden. */
export async function clientAssertion(
  clientId: string,
  key: CryptoKey,
  kid: string,
  audience: string,
  overrides: { claims?: JWTPayload; alg?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: clientId, sub: clientId, aud: audience, jti: randomUUID(), iat: now, exp: now + 60, ...overrides.claims })
    .setProtectedHeader({ alg: overrides.alg ?? 'ES256', kid })
    .sign(key);
}

export class AttackClient {
  /** Every credential sent through this client, across all requests. */
  readonly sent = new Set<string>();

  constructor(private readonly broker: RunningTestBroker) {}

  /** A token-exchange request with sensible defaults; a parameter set to `undefined` is left out. */
  exchange(auth: ClientAuth, params: Params, extra: Omit<SendOptions, 'params' | 'auth'> = {}): Promise<Attempt> {
    return this.send({
      ...extra,
      auth,
      params: { grant_type: TE_GRANT, subject_token_type: AT_TYPE, ...params },
    });
  }

  async send(opts: SendOptions): Promise<Attempt> {
    const params: Params = { ...opts.params };
    const headers: Record<string, string> = {};
    if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/x-www-form-urlencoded';
    const auth = opts.auth ?? { kind: 'none' };
    if (auth.kind === 'basic') {
      headers.authorization = basic(auth.clientId, auth.secret);
    } else if (auth.kind === 'private_key_jwt') {
      params.client_assertion ??= await clientAssertion(auth.clientId, auth.key, auth.kid, this.broker.issuer);
      params.client_assertion_type ??= JWT_BEARER;
    }
    const requestId = `attack-${randomUUID()}`;
    headers['x-request-id'] = requestId;
    Object.assign(headers, opts.headers);

    const secrets = new Set<string>(opts.secrets ?? []);
    for (const name of SECRET_PARAMS) {
      const value = params[name];
      for (const v of typeof value === 'string' ? [value] : (value ?? [])) secrets.add(v);
    }
    if (auth.kind === 'basic') secrets.add(auth.secret);
    // Short strings (e.g. "a.b") can occur in a record by coincidence; only real credentials are tracked.
    const tracked = [...secrets].filter((s) => s.length >= 16);
    for (const s of tracked) this.sent.add(s);

    const before = this.broker.sink.records.length;
    const started = performance.now();
    const method = opts.method ?? 'POST';
    const body = opts.body ?? form(params);
    const init: RequestInit & { duplex?: 'half' } = { method, headers };
    if (method !== 'GET' && method !== 'HEAD') {
      init.body = body as RequestInit['body'];
      if (body instanceof ReadableStream) init.duplex = 'half';
    }
    const res = await fetch(`${this.broker.tokenEndpoint}${opts.query ?? ''}`, init);
    const text = await res.text();
    const elapsedMs = performance.now() - started;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = {};
    }
    const appended = this.broker.sink.records.slice(before).filter(isExchangeRecord);
    return {
      status: res.status,
      headers: res.headers,
      body: parsed,
      text,
      records: opts.concurrent ? appended.filter((r) => r.request_id === requestId) : appended,
      appended: appended.length,
      concurrent: opts.concurrent ?? false,
      secrets: tracked,
      elapsedMs,
    };
  }
}

export interface ExpectedDenial {
  readonly status: number;
  readonly error: string;
  readonly reason: string;
  /** When STANDARDS requires a challenge: the WWW-Authenticate header must match. */
  readonly wwwAuthenticate?: RegExp;
}

const JWT_LIKE = /eyJ[\w-]*\.eyJ[\w-]*\./u;

/**
 * The shape every refusal must have (STANDARDS, "Attack families"): the exact status and OAuth error, an
 * ASCII description, no-store headers, no token in the response, and exactly one attribution record with
 * decision = denied, the stable reason, and none of the credentials the request carried.
 */
export function expectDenied(res: Attempt, expected: ExpectedDenial): ExchangeRecord {
  const summary = `${res.status} ${res.text.slice(0, 300)}`;
  expect(res.status, summary).toBe(expected.status);
  expect(res.body.error, summary).toBe(expected.error);
  expect(typeof res.body.error_description, summary).toBe('string');
  expect(res.body.error_description as string).toMatch(/^[\x20-\x7E]*$/u);
  expect(res.text).not.toMatch(/\bat [^\s]+ \(|node_modules|Error:/u);
  // No token in the response.
  expect(res.body.access_token).toBeUndefined();
  expect(res.body.refresh_token).toBeUndefined();
  expect(res.text).not.toMatch(JWT_LIKE);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('pragma')).toBe('no-cache');
  if (expected.wwwAuthenticate) expect(res.headers.get('www-authenticate') ?? '').toMatch(expected.wwwAuthenticate);

  expectOneRecord(res);
  const record = res.records[0]!;
  expect(record).toMatchObject({ type: 'token_exchange', decision: 'denied', reason: expected.reason, error: expected.error });
  expect(record.token).toBeUndefined();
  const json = JSON.stringify(record);
  for (const secret of res.secrets) expect(json).not.toContain(secret);
  return record;
}

/** Exactly one new record for this request: the sink grew by one (sequential) and it carries our request id. */
function expectOneRecord(res: Attempt): void {
  if (!res.concurrent) expect(res.appended, 'records appended while the request was handled').toBe(1);
  expect(res.records, `records: ${JSON.stringify(res.records)}`).toHaveLength(1);
  expect(res.records[0]!.request_id).toBe(res.headers.get('x-request-id'));
}

/** The positive controls: a granted answer with a token and one granted record. */
export function expectGranted(res: Attempt): ExchangeRecord {
  expect(res.status, res.text.slice(0, 300)).toBe(200);
  expect(typeof res.body.access_token).toBe('string');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expectOneRecord(res);
  const record = res.records[0]!;
  expect(record).toMatchObject({ decision: 'granted', reason: 'granted' });
  return record;
}

// ---------------------------------------------------------------------------------------------------------
// Hand-made compact JWS, for tokens jose refuses to produce (alg none, HS256 with a public key, unknown crit).

export function b64u(input: string | Uint8Array): string {
  return Buffer.from(input).toString('base64url');
}

export type Signer = (signingInput: string) => Uint8Array | string;

/** `base64url(header).base64url(payload).signature`. */
export function compactJws(header: Record<string, unknown>, payload: JWTPayload, signer: Signer): string {
  return compactJwsRaw(header, JSON.stringify(payload), signer);
}

/** The same with the payload JSON given verbatim (hostile JSON, non-object payloads). */
export function compactJwsRaw(header: Record<string, unknown>, payloadJson: string, signer: Signer): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(payloadJson)}`;
  const sig = signer(input);
  return `${input}.${typeof sig === 'string' ? sig : b64u(sig)}`;
}

/** ES256 (P-256, IEEE P1363 signature) or RS256 (PKCS#1 v1.5) with a WebCrypto private key. */
export function asymmetricSigner(key: CryptoKey, alg: 'ES256' | 'RS256'): Signer {
  const keyObject = KeyObject.from(key);
  return (input) => nodeSign('sha256', Buffer.from(input), alg === 'ES256' ? { key: keyObject, dsaEncoding: 'ieee-p1363' } : keyObject);
}

export function hmacSigner(secret: string | Uint8Array): Signer {
  return (input) => createHmac('sha256', secret).update(input).digest();
}

export const unsigned: Signer = () => '';

// ---------------------------------------------------------------------------------------------------------

/** An HTTP server that answers every request with `body` (JSON) and counts what it received. */
export interface Canary {
  readonly url: string;
  hits(): number;
  paths(): readonly string[];
  close(): Promise<void>;
}

export async function startCanary(body: unknown = { keys: [] }): Promise<Canary> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits: () => seen.length,
    paths: () => [...seen],
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

/** A loopback port with nothing listening on it (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}
