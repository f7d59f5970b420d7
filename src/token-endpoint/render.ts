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

export function renderTokenAnswer(ctx: Context, result: Issued | Delivered | Refusal, rc: RenderContext): void {
  if (result.kind === 'refused') {
    const { denial } = result;
    const status = denialStatus(denial.reason);
    const headers = withChallenge(result, status, rc);
    renderOAuthError(ctx, { status, error: denial.error, description: denial.description, ...(headers ? { headers } : {}) });
    if (result.fields) ctx.body = { ...(ctx.body as Record<string, unknown>), ...result.fields };
    return;
  }
  if (result.kind === 'delivered') {
    // Issue 17: the onward exchange's answer, to the tool identity only.
    ctx.status = 200;
    ctx.body = result.body;
    setNoStore(ctx);
    return;
  }
  const { grant, minted } = result;
  ctx.status = 200;
  ctx.body = {
    access_token: minted.token,
    issued_token_type: grant.issuedTokenType,
    token_type: result.tokenType,
    expires_in: minted.exp - minted.iat,
    scope: grant.scopes.granted.join(' '),
    // RFC 9396 §7: the authorization_details the token carries, in the token response too.
    ...(grant.authorizationDetails !== undefined ? { authorization_details: grant.authorizationDetails } : {}),
  };
  setNoStore(ctx);
}
