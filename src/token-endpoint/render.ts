/**
 * Writes the one answer of a token request: the token (RFC 8693 §2.2.1) or the refusal (RFC 6749 §5.2,
 * through the broker's one OAuth error writer; status from the reason table). Always no-store (RFC 6749 §5.1).
 */
import type { Context } from 'koa';
import { denialStatus } from '../exchange/reasons.js';
import { renderOAuthError, setNoStore } from '../http/oauth-error.js';
import type { Delivered, Issued } from './pipeline/runner.js';
import type { Refusal } from './pipeline/step.js';

export interface RenderContext {
  /** The caller sent an Authorization header (its 401s carry a `Basic` challenge, RFC 6749 §5.2). */
  readonly usedAuthorizationHeader: boolean;
  /** The realm of that challenge: the issuer identifier. */
  readonly realm: string;
}

/**
 * RFC 6749 §5.2: a 401 answered to a client that authenticated through the Authorization header includes
 * the `WWW-Authenticate` challenge of its scheme, whichever step refused (a revoked agent's too).
 */
function withChallenge(result: Refusal, status: number, rc: RenderContext): Readonly<Record<string, string>> | undefined {
  if (status !== 401 || !rc.usedAuthorizationHeader || result.headers?.['WWW-Authenticate'] !== undefined) return result.headers;
  return { ...result.headers, 'WWW-Authenticate': `Basic realm="${rc.realm}", error="invalid_client"` };
}

/** The answer as plain parts: status, JSON body, the headers beyond the ones every answer carries. */
export interface TokenAnswerParts {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  /** `Retry-After`, `WWW-Authenticate` (a refusal's); written after Content-Type, before no-store. */
  readonly headers: Readonly<Record<string, string>> | undefined;
}

/** Pure: what the answer says. Both writers (Koa below, node:http in fast-path.ts) write exactly this. */
export function tokenAnswerParts(result: Issued | Delivered | Refusal, rc: RenderContext): TokenAnswerParts {
  if (result.kind === 'refused') {
    const { denial } = result;
    const status = denialStatus(denial.reason);
    const body = { error: denial.error, error_description: denial.description };
    return { status, body: result.fields ? { ...body, ...result.fields } : body, headers: withChallenge(result, status, rc) };
  }
  // Issue 17: the onward exchange's answer, to the tool identity only.
  if (result.kind === 'delivered') return { status: 200, body: result.body, headers: undefined };
  const { grant, minted } = result;
  return {
    status: 200,
    body: {
      access_token: minted.token,
      issued_token_type: grant.issuedTokenType,
      token_type: result.tokenType,
      expires_in: minted.exp - minted.iat,
      scope: grant.scopes.granted.join(' '),
      // RFC 9396 §7: the authorization_details the token carries, in the token response too.
      ...(grant.authorizationDetails !== undefined ? { authorization_details: grant.authorizationDetails } : {}),
    },
    headers: undefined,
  };
}

export function renderTokenAnswer(ctx: Context, result: Issued | Delivered | Refusal, rc: RenderContext): void {
  const parts = tokenAnswerParts(result, rc);
  if (result.kind === 'refused') {
    renderOAuthError(ctx, { status: parts.status, error: result.denial.error, description: result.denial.description, ...(parts.headers ? { headers: parts.headers } : {}) });
    if (result.fields) ctx.body = parts.body;
    return;
  }
  ctx.status = parts.status;
  ctx.body = parts.body;
  setNoStore(ctx);
}
