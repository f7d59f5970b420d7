/**
 * The agent SDK: before each tool call, exchange the user's token for a token for that one tool.
 *   const broker = await AgentClient.create({ issuer, clientId, auth: { privateKey } });
 *   const { accessToken } = await broker.getToken({ subjectToken: userToken, tool: 'https://crm.example/api', scope: 'crm.accounts.read' });
 * Tokens are cached per (subject token, tool, scope) until shortly before they expire (at most
 * `maxCachedTokens`), concurrent identical requests share one exchange, only 5xx / temporarily_unavailable
 * answers are retried, with backoff, and after a 429 nothing is sent before its Retry-After (retry-policy.ts).
 * Endpoints from the broker's metadata are used only at the issuer's origin (same-origin.ts).
 * With `dpop` the agent holds a DPoP key (RFC 9449): every exchange carries a proof, tokens are bound to
 * the key, and `token.headers(method, url)` adds a fresh proof to each tool request.
 */
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { calculateJwkThumbprint, generateKeyPair, type CryptoKey } from 'jose';
import { createDpopProof, dpopAlgorithm, dpopPublicJwk, type DpopKeyPair } from '../../dpop/create-dpop-proof.js';
import { assertEndpointsAtIssuer } from '../same-origin.js';
import { isRateLimited, nextAttempt, parseRetryAfter, rateLimitWaitMs } from './retry-policy.js';
import { TokenCache } from './token-cache.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface AgentClientOptions {
  readonly issuer: string;
  readonly clientId: string;
  /** private_key_jwt (recommended) or client_secret_basic. */
  readonly auth: { readonly privateKey: CryptoKey; readonly kid?: string } | { readonly clientSecret: string };
  /** Refresh this long before `exp` (default 30 s). */
  readonly refreshSkewSeconds?: number;
  /** Retries after the first attempt, for 5xx / temporarily_unavailable only (default 2). */
  readonly retries?: number;
  readonly backoffMs?: number;
  /**
   * A 429 is retried only after its Retry-After, and only if that is at most this long (default 0: never);
   * otherwise the call fails at once, and so does every exchange of this client until Retry-After has passed.
   */
  readonly maxRetryAfterMs?: number;
  /** Bound on cached tokens (default 1000); the oldest go first, expired ones are dropped. */
  readonly maxCachedTokens?: number;
  /** Plain http is accepted only for loopback brokers (development and tests). */
  readonly allowInsecureLoopback?: boolean;
  /** DPoP-bound tokens: `true` generates a non-extractable ES256 key for this client, or give a key pair (P-256, P-384, Ed25519, RSA). */
  readonly dpop?: true | DpopKeyPair;
}

export interface ToolToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** For a DPoP-bound token: the thumbprint of the agent's DPoP key (the token's `cnf.jkt`). */
  readonly dpopJkt?: string;
  /**
   * The headers for one request to the tool: `Authorization: Bearer <token>`, or for a DPoP-bound token
   * `Authorization: DPoP <token>` plus a fresh `DPoP` proof for this method and URL (with `ath`).
   */
  headers(method: string, url: string): Promise<Record<string, string>>;
}

/**
 * A refused exchange, with the broker's OAuth error code (invalid_scope, invalid_target, ...). Client side (the
 * agent SDK reads the broker's answers): not part of the broker's HTTP error model, which it mirrors.
 */
export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(
    readonly code: string,
    readonly status: number | undefined,
    readonly description: string | undefined,
    /** For a 429 or 503: how long (ms) the broker asked to wait before asking again (`Retry-After`). */
    readonly retryAfterMs?: number,
  ) {
    super(`${code}${description ? `: ${description}` : ''}`);
  }
}

async function toExchangeError(err: unknown): Promise<ExchangeError> {
  const retryAfter = (res: Response) => parseRetryAfter(res.headers.get('retry-after'), Date.now());
  if (err instanceof oidc.ResponseBodyError) return new ExchangeError(err.error, err.status, err.error_description, retryAfter(err.response));
  if (err instanceof ExchangeError) return err;
  // 5xx answers are not treated as OAuth error responses by openid-client: read the body ourselves.
  if (err instanceof Error && err.cause instanceof Response) {
    const res = err.cause;
    let body: { error?: unknown; error_description?: unknown } = {};
    try {
      body = await res.clone().json() as typeof body;
    } catch {
      // not JSON
    }
    return new ExchangeError(typeof body.error === 'string' ? body.error : 'http_error', res.status, typeof body.error_description === 'string' ? body.error_description : undefined, retryAfter(res));
  }
  return new ExchangeError('network_error', undefined, err instanceof Error ? err.message : String(err));
}

export class AgentClient {
  readonly #cache: TokenCache<ToolToken>;
  readonly #inFlight = new Map<string, Promise<ToolToken>>();
  /** Epoch ms before which the broker asked not to be asked again (a 429's Retry-After). */
  #rateLimitedUntil = 0;

  private constructor(
    private readonly config: oidc.Configuration,
    private readonly opts: AgentClientOptions,
    private readonly dpop: { readonly keys: DpopKeyPair; readonly handle: oidc.DPoPHandle; readonly jkt: string } | undefined,
  ) {
    this.#cache = new TokenCache(opts.maxCachedTokens ?? 1000, (opts.refreshSkewSeconds ?? 30) * 1000);
  }

  /** How many tokens are cached now (bounded by `maxCachedTokens`). */
  get cachedTokens(): number {
    return this.#cache.size;
  }

  static async create(opts: AgentClientOptions): Promise<AgentClient> {
    const auth = 'privateKey' in opts.auth
      ? oidc.PrivateKeyJwt(opts.auth.privateKey, opts.auth.kid ? { [oidc.modifyAssertion]: (header) => { header.kid = (opts.auth as { kid: string }).kid; } } : undefined)
      : oidc.ClientSecretBasic(opts.auth.clientSecret);
    const server = new URL(opts.issuer);
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(server.hostname);
    const config = await oidc.discovery(server, opts.clientId, undefined, auth, {
      algorithm: 'oauth2',
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only for loopback brokers, on request
      ...(opts.allowInsecureLoopback && loopback && server.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
    // openid-client checks the metadata's `issuer`; the endpoints must be the issuer's too.
    assertEndpointsAtIssuer(opts.issuer, config.serverMetadata());
    let dpop;
    if (opts.dpop) {
      const keys = opts.dpop === true ? await generateKeyPair('ES256') : opts.dpop;
      dpopAlgorithm(keys.privateKey); // refuses unsupported keys now rather than at the first exchange
      dpop = { keys, handle: oidc.getDPoPHandle(config, keys), jkt: await calculateJwkThumbprint(await dpopPublicJwk(keys.publicKey)) };
    }
    return new AgentClient(config, opts, dpop);
  }

  /** The thumbprint of this client's DPoP key (tokens it obtains carry it as `cnf.jkt`), if it has one. */
  get dpopJkt(): string | undefined {
    return this.dpop?.jkt;
  }

  /** A DPoP proof for one request (RFC 9449 §4.2; `ath` when an access token goes with it). Needs the `dpop` option. */
  dpopProof(method: string, url: string, accessToken?: string): Promise<string> {
    if (!this.dpop) return Promise.reject(new Error('this AgentClient has no DPoP key (option dpop)'));
    return createDpopProof(this.dpop.keys, { method, url, ...(accessToken !== undefined ? { accessToken } : {}) });
  }

  /** A token for one tool on behalf of the user whose token is `subjectToken`. */
  getToken(request: { readonly subjectToken: string; readonly tool: string; readonly scope: string | readonly string[] }): Promise<ToolToken> {
    const scope = (typeof request.scope === 'string' ? request.scope.split(' ') : [...request.scope]).filter(Boolean).sort().join(' ');
    const key = `${createHash('sha256').update(request.subjectToken).digest('base64url')} ${request.tool} ${scope}`;
    const cached = this.#cache.get(key);
    if (cached) return Promise.resolve(cached);
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const wait = this.#rateLimitedUntil - Date.now();
    if (wait > 0) {
      // Asking now would be one more rate-limited request, each counted by the broker's kill switch.
      return Promise.reject(new ExchangeError('temporarily_unavailable', 429, `rate limited by the broker; not asking again for ${Math.ceil(wait / 1000)} s`, wait));
    }
    const started = this.#exchange(request.subjectToken, request.tool, scope)
      .then((token) => {
        this.#cache.set(key, token);
        return token;
      })
      .finally(() => { this.#inFlight.delete(key); });
    this.#inFlight.set(key, started);
    return started;
  }

  async #exchange(subjectToken: string, tool: string, scope: string): Promise<ToolToken> {
    const retries = this.opts.retries ?? 2;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const res = await oidc.genericGrantRequest(this.config, TOKEN_EXCHANGE_GRANT, {
          subject_token: subjectToken,
          subject_token_type: ACCESS_TOKEN_TYPE,
          resource: tool,
          scope,
        }, this.dpop ? { DPoP: this.dpop.handle } : undefined);
        const accessToken = res.access_token;
        const bound = res.token_type === 'dpop';
        if (this.dpop && !bound) throw new ExchangeError('invalid_response', 200, 'the broker did not bind the token to the DPoP key');
        return {
          accessToken,
          tokenType: res.token_type,
          scope: typeof res.scope === 'string' ? res.scope : scope,
          expiresAt: Date.now() + (res.expires_in ?? 0) * 1000,
          ...(bound && this.dpop ? { dpopJkt: this.dpop.jkt } : {}),
          headers: async (method: string, url: string): Promise<Record<string, string>> => (bound
            ? { authorization: `DPoP ${accessToken}`, dpop: await this.dpopProof(method, url, accessToken) }
            : { authorization: `Bearer ${accessToken}` }),
        };
      } catch (err) {
        const error = await toExchangeError(err);
        if (isRateLimited(error)) this.#rateLimitedUntil = Math.max(this.#rateLimitedUntil, Date.now() + rateLimitWaitMs(error));
        const next = nextAttempt(error, attempt, { retries, backoffMs: this.opts.backoffMs ?? 200, maxRetryAfterMs: this.opts.maxRetryAfterMs ?? 0 });
        if (!next.retry) throw error;
        await new Promise((r) => setTimeout(r, next.delayMs));
      }
    }
  }

  /**
   * Drop one cached token, so the next `getToken` for it exchanges again: call it when a tool answers
   * 401 `invalid_token` (the token was revoked, or the tool's keys moved on). Returns whether it was cached.
   */
  discard(token: ToolToken | string): boolean {
    const accessToken = typeof token === 'string' ? token : token.accessToken;
    const key = this.#cache.findKey((cached) => cached.accessToken === accessToken);
    return key !== undefined && this.#cache.delete(key);
  }

  /** Forget cached tokens (e.g. when the user's session ends). */
  clear(): void {
    this.#cache.clear();
  }
}
