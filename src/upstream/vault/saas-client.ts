/**
 * The edge towards one SaaS authorization server, for the vault: the consent's authorization URL, the
 * code exchange (RFC 6749 §4.1.3 with PKCE, RFC 7636), the refresh (§6) and the revocation (RFC 7009),
 * through `openid-client`. Every call is bounded in time; what goes wrong is sorted into two kinds:
 * the server answered with an OAuth error (a refusal, passed on as such) or it did not answer usefully
 * (unavailable: the caller fails closed).
 */
import * as oidc from 'openid-client';
import { isLoopbackUrl } from '../../config/load-broker-config.js';

export type VaultClientAuth =
  | { readonly method: 'client_secret_basic' | 'client_secret_post'; readonly secret: string }
  | { readonly method: 'private_key_jwt'; readonly key: VaultClientKey; readonly kid?: string };

/** A private key as openid-client takes it (a WebCrypto key). */
export type VaultClientKey = Extract<Parameters<typeof oidc.PrivateKeyJwt>[0], { type: string }>;

export interface VaultUpstream {
  /** The SaaS authorization server's issuer identifier (RFC 8414 discovery from it). */
  readonly issuer: string;
  /** The broker's client at that server, and how it authenticates there (the secret or key never inline in YAML). */
  readonly clientId: string;
  readonly clientAuth: VaultClientAuth;
  /** Every SaaS scope the tool's catalog maps to: what the consent asks the user for. */
  readonly scopes: readonly string[];
  /** Registered at the SaaS exactly: `<broker>/connect/<tool>/callback`. */
  readonly redirectUri: string;
  /** Bound on each call to the SaaS. */
  readonly timeoutMs: number;
  /** Plain http to the SaaS: honoured only for a loopback address (development and tests). */
  readonly allowInsecureHttp?: boolean;
}

export interface SaasTokens {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresInSeconds: number | undefined;
  /** Absent when the server did not rotate (the old refresh token stays valid). */
  readonly refreshToken: string | undefined;
  /** Absent when the server granted what was asked (RFC 6749 §5.1). */
  readonly scopes: readonly string[] | undefined;
}

/** The SaaS answered with an OAuth error. */
export class SaasRefusal extends Error {
  override readonly name = 'SaasRefusal';
  constructor(readonly error: string, readonly description: string | undefined, readonly status: number) {
    super(`the SaaS authorization server refused: ${error}`);
  }
}

/** The SaaS did not answer, or not in a way that can be trusted, within the bound. */
export class SaasUnavailable extends Error {
  override readonly name = 'SaasUnavailable';
}

export interface SaasClient {
  authorizationUrl(params: { state: string; codeChallenge: string }): Promise<URL>;
  exchangeCode(callbackUrl: URL, checks: { state: string; codeVerifier: string }): Promise<SaasTokens>;
  refresh(refreshToken: string, scopes: readonly string[]): Promise<SaasTokens>;
  /** RFC 7009; `unsupported` when the server publishes no revocation endpoint. */
  revoke(refreshToken: string): Promise<'revoked' | 'unsupported'>;
}

function describe(err: unknown): string {
  if (err instanceof oidc.ClientError) return `${err.code ?? 'error'}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return 'unknown error';
}

/** Sorts an openid-client failure; never includes a token (openid-client errors carry none). */
export function classify(err: unknown): SaasRefusal | SaasUnavailable {
  if (err instanceof SaasRefusal || err instanceof SaasUnavailable) return err;
  if (err instanceof oidc.ResponseBodyError) return new SaasRefusal(err.error, err.error_description, err.status);
  if (err instanceof oidc.AuthorizationResponseError) return new SaasRefusal(err.error, err.error_description, 400);
  return new SaasUnavailable(`the SaaS authorization server did not answer usefully: ${describe(err)}`);
}

function toTokens(response: oidc.TokenEndpointResponse): SaasTokens {
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    expiresInSeconds: typeof response.expires_in === 'number' ? response.expires_in : undefined,
    refreshToken: typeof response.refresh_token === 'string' ? response.refresh_token : undefined,
    scopes: typeof response.scope === 'string' ? response.scope.split(' ').filter((s) => s !== '') : undefined,
  };
}

function clientAuthentication(auth: VaultClientAuth): oidc.ClientAuth {
  switch (auth.method) {
    case 'client_secret_basic': return oidc.ClientSecretBasic(auth.secret);
    case 'client_secret_post': return oidc.ClientSecretPost(auth.secret);
    case 'private_key_jwt': return oidc.PrivateKeyJwt(auth.kid === undefined ? auth.key : { key: auth.key, kid: auth.kid });
  }
}

export function createSaasClient(upstream: VaultUpstream): SaasClient {
  let configuration: Promise<oidc.Configuration> | undefined;
  const server = new URL(upstream.issuer);
  const insecure = upstream.allowInsecureHttp === true && server.protocol === 'http:' && isLoopbackUrl(server);

  /** Discovery once; a failed discovery is forgotten, so the next call tries again. */
  function config(): Promise<oidc.Configuration> {
    configuration ??= oidc.discovery(server, upstream.clientId, undefined, clientAuthentication(upstream.clientAuth), {
      timeout: upstream.timeoutMs / 1000,
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- plain http only to a loopback SaaS (development and tests)
      ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
    }).then((c) => {
      c.timeout = upstream.timeoutMs / 1000;
      return c;
    });
    const pending = configuration;
    pending.catch(() => { if (configuration === pending) configuration = undefined; });
    return pending;
  }

  async function call<T>(fn: (c: oidc.Configuration) => Promise<T>): Promise<T> {
    try {
      return await fn(await config());
    } catch (err) {
      throw classify(err);
    }
  }

  return {
    authorizationUrl: ({ state, codeChallenge }) => call((c) => Promise.resolve(oidc.buildAuthorizationUrl(c, {
      redirect_uri: upstream.redirectUri,
      scope: upstream.scopes.join(' '),
      state,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    }))),
    exchangeCode: (callbackUrl, checks) => call(async (c) => toTokens(await oidc.authorizationCodeGrant(c, callbackUrl, {
      pkceCodeVerifier: checks.codeVerifier,
      expectedState: checks.state,
    }))),
    refresh: (refreshToken, scopes) => call(async (c) => toTokens(await oidc.refreshTokenGrant(c, refreshToken, scopes.length > 0 ? { scope: scopes.join(' ') } : {}))),
    revoke: (refreshToken) => call(async (c) => {
      if (!c.serverMetadata().revocation_endpoint) return 'unsupported' as const;
      await oidc.tokenRevocation(c, refreshToken, { token_type_hint: 'refresh_token' });
      return 'revoked' as const;
    }),
  };
}
