/**
 * The edge to one SaaS authorization server: where its token endpoint is (RFC 8414 discovery, once, or the
 * catalog's explicit endpoint), how the broker's client authenticates there (RFC 7523 §2.2 private_key_jwt with
 * a key file from the keys directory, or client_secret_basic with a secret from the environment), and one
 * bounded token request whose answer is classified: a credential, a refusal passed on, or unavailable.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { UpstreamCredential, UpstreamFailure } from '../connector.js';
import type { ToolUpstream } from '../upstream-config.js';

const MAX_RESPONSE_BYTES = 65_536;

export interface UpstreamEndpoints { readonly tokenEndpoint: string; readonly issuer?: string }

export type ClientAuthenticator = (tokenEndpoint: string, audience: string) => Promise<{ headers: Record<string, string>; form: Record<string, string> }>;

/** Loads the broker's client credentials for this upstream: a private JWK file, or a secret from the environment. */
export async function upstreamClientAuthenticator(upstream: ToolUpstream, keysDir: string, env: NodeJS.ProcessEnv = process.env): Promise<ClientAuthenticator> {
  const auth = upstream.clientAuth;
  if (auth.method === 'client_secret_basic') {
    const secret = env[auth.secretEnv];
    if (secret === undefined || secret === '') throw new Error(`environment variable ${auth.secretEnv} (the client secret for ${upstream.resource}) is not set`);
    // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
    const basic = Buffer.from(`${encodeURIComponent(upstream.clientId)}:${encodeURIComponent(secret)}`).toString('base64');
    return () => Promise.resolve({ headers: { authorization: `Basic ${basic}` }, form: {} });
  }
  const jwk = JSON.parse(await readFile(join(keysDir, auth.keyFile), 'utf8')) as JWK;
  if (typeof jwk.d !== 'string') throw new Error(`${auth.keyFile}: not a private key`);
  const alg = jwk.alg ?? 'ES256';
  const key = await importJWK(jwk, alg) as CryptoKey;
  return async (_tokenEndpoint, audience) => {
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg, ...(jwk.kid ? { kid: jwk.kid } : {}), typ: 'JWT' })
      .setIssuer(upstream.clientId).setSubject(upstream.clientId).setAudience(audience)
      .setIssuedAt().setExpirationTime('60s').setJti(randomUUID())
      .sign(key);
    return { headers: {}, form: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion } };
  };
}

async function readBounded(res: Response): Promise<string | undefined> {
  const text = await res.text();
  return Buffer.byteLength(text) > MAX_RESPONSE_BYTES ? undefined : text;
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** ASCII printable only, bounded: a SaaS's words are passed on, never its bytes. */
function safeText(value: unknown, max = 200): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.replace(/[^\x20-\x7E]/gu, '?').slice(0, max);
}

/** Resolves the token endpoint once (RFC 8414 §3, then OIDC discovery), bounded; a failure is retried on the next call. */
export function endpointResolver(upstream: ToolUpstream, timeoutMs: number): () => Promise<UpstreamEndpoints | UpstreamFailure> {
  let resolved: UpstreamEndpoints | undefined;
  return async () => {
    if (resolved) return resolved;
    const server = upstream.server;
    if ('tokenEndpoint' in server) {
      resolved = { tokenEndpoint: server.tokenEndpoint, ...(server.issuer ? { issuer: server.issuer } : {}) };
      return resolved;
    }
    const base = server.issuer.replace(/\/$/u, '');
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      try {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
        if (!res.ok) continue;
        const doc = parseJson(await readBounded(res));
        // RFC 8414 §3.3: the issuer in the document is exactly the one configured.
        if (doc?.issuer !== server.issuer || typeof doc.token_endpoint !== 'string') {
          return { failure: 'unavailable', description: 'the upstream authorization server metadata is invalid' };
        }
        resolved = { tokenEndpoint: doc.token_endpoint, issuer: server.issuer };
        return resolved;
      } catch {
        return { failure: 'unavailable', description: 'the upstream authorization server did not answer in time' };
      }
    }
    return { failure: 'unavailable', description: 'the upstream authorization server publishes no metadata' };
  };
}

/** One token request at the SaaS, bounded by `timeoutMs` (and `signal`), its answer classified. */
export async function requestUpstreamToken(opts: {
  readonly endpoints: UpstreamEndpoints;
  readonly authenticate: ClientAuthenticator;
  readonly form: Record<string, string>;
  readonly requestedScopes: readonly string[];
  readonly timeoutMs: number;
  readonly nowMs: number;
  readonly signal?: AbortSignal;
}): Promise<UpstreamCredential | UpstreamFailure> {
  const { endpoints } = opts;
  const client = await opts.authenticate(endpoints.tokenEndpoint, endpoints.issuer ?? endpoints.tokenEndpoint);
  const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
  let res: Response;
  let body: Record<string, unknown> | undefined;
  try {
    res = await fetch(endpoints.tokenEndpoint, {
      method: 'POST',
      redirect: 'error',
      signal: AbortSignal.any(signals),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...client.headers },
      body: new URLSearchParams({ ...opts.form, ...client.form }).toString(),
    });
    body = parseJson(await readBounded(res));
  } catch {
    return { failure: 'unavailable', description: `the upstream authorization server did not answer within ${String(opts.timeoutMs)} ms` };
  }
  if (res.status === 200 && body && typeof body.access_token === 'string' && body.access_token !== '') {
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    // RFC 6749 §5.1: an absent scope means the one requested; never pass on more than was requested.
    const granted = typeof body.scope === 'string' ? body.scope.split(' ').filter((s) => opts.requestedScopes.includes(s)) : [...opts.requestedScopes];
    return {
      accessToken: body.access_token,
      tokenType: typeof body.token_type === 'string' ? body.token_type : 'Bearer',
      expiresAtMs: opts.nowMs + expiresIn * 1000,
      scopes: granted,
    };
  }
  // RFC 6749 §5.2: a registered error from the SaaS is its refusal, passed on as such (never retried otherwise).
  if (res.status >= 400 && res.status < 500 && body && typeof body.error === 'string') {
    const description = safeText(body.error_description);
    return { failure: 'refused', error: safeText(body.error, 64) ?? 'invalid_grant', ...(description ? { description } : {}) };
  }
  return { failure: 'unavailable', description: `the upstream authorization server answered ${String(res.status)} without a usable token response` };
}
