/**
 * The agent SDK: before each tool call, exchange the user's token for a token for that one tool.
 *   const broker = await AgentClient.create({ issuer, clientId, auth: { privateKey } });
 *   const { accessToken } = await broker.getToken({ subjectToken: userToken, tool: 'https://crm.example/api', scope: 'crm.accounts.read' });
 * Tokens are cached per (subject token, tool, scope) until shortly before they expire, concurrent identical
 * requests share one exchange, and only 5xx / temporarily_unavailable answers are retried, with backoff.
 */
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import type { CryptoKey } from 'jose';

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
  /** Plain http is accepted only for loopback brokers (development and tests). */
  readonly allowInsecureLoopback?: boolean;
}

export interface ToolToken {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly scope: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/** A refused exchange, with the broker's OAuth error code (invalid_scope, invalid_target, ...). */
export class ExchangeError extends Error {
  override readonly name = 'ExchangeError';
  constructor(readonly code: string, readonly status: number | undefined, readonly description: string | undefined) {
    super(`${code}${description ? `: ${description}` : ''}`);
  }
}

function retryable(err: ExchangeError): boolean {
  return err.code === 'temporarily_unavailable' || err.code === 'server_error' || (err.status !== undefined && err.status >= 500);
}

async function toExchangeError(err: unknown): Promise<ExchangeError> {
  if (err instanceof oidc.ResponseBodyError) return new ExchangeError(err.error, err.status, err.error_description);
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
    return new ExchangeError(typeof body.error === 'string' ? body.error : 'http_error', res.status, typeof body.error_description === 'string' ? body.error_description : undefined);
  }
  return new ExchangeError('network_error', undefined, err instanceof Error ? err.message : String(err));
}

export class AgentClient {
  readonly #cache = new Map<string, ToolToken>();
  readonly #inFlight = new Map<string, Promise<ToolToken>>();

  private constructor(private readonly config: oidc.Configuration, private readonly opts: AgentClientOptions) {}

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
    return new AgentClient(config, opts);
  }

  /** A token for one tool on behalf of the user whose token is `subjectToken`. */
  getToken(request: { readonly subjectToken: string; readonly tool: string; readonly scope: string | readonly string[] }): Promise<ToolToken> {
    const scope = (typeof request.scope === 'string' ? request.scope.split(' ') : [...request.scope]).filter(Boolean).sort().join(' ');
    const key = `${createHash('sha256').update(request.subjectToken).digest('base64url')} ${request.tool} ${scope}`;
    const cached = this.#cache.get(key);
    if (cached && cached.expiresAt - (this.opts.refreshSkewSeconds ?? 30) * 1000 > Date.now()) return Promise.resolve(cached);
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
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
        });
        return {
          accessToken: res.access_token,
          tokenType: res.token_type,
          scope: typeof res.scope === 'string' ? res.scope : scope,
          expiresAt: Date.now() + (res.expires_in ?? 0) * 1000,
        };
      } catch (err) {
        const error = await toExchangeError(err);
        if (attempt >= retries || !retryable(error)) throw error;
        await new Promise((r) => setTimeout(r, (this.opts.backoffMs ?? 200) * 2 ** attempt));
      }
    }
  }

  /** Forget cached tokens (e.g. when the user's session ends). */
  clear(): void {
    this.#cache.clear();
  }
}
