/**
 * RFC 7009 revocation of broker tokens by the agent that holds them. oidc-provider authenticates the agent
 * at its revocation endpoint and then refuses structured (JWT) tokens, which it cannot look up; the broker
 * takes over at exactly that point: a valid, unexpired broker token issued to this agent gets a `token`
 * revocation rule (attributed, `by: agent:<client_id>`), effective at once, pushed to validators, and
 * dropped when the token expires. Revoking the same token again changes nothing (one rule per jti).
 * Per RFC 7009 §2.2 the answer is 200 whether or not the token was known, valid or the agent's own.
 *
 * Every authenticated call is first checked (revocation-guard.ts): a suspended or revoked agent is refused,
 * and calls are rate-limited per agent (429 with Retry-After; each refusal counts toward the kill switch's
 * rate-limit trigger), so that no agent can grow the rule set without bound.
 */
import type { Context, Next } from 'koa';
import type { JWTPayload } from 'jose';
import type { AdminActions } from '../admin/admin-actions.js';
import type { Logger } from '../log.js';
import { BrokerError } from '../errors/broker-errors.js';
import { deny } from '../exchange/reasons.js';
import { denialAnswer, renderBrokerError, renderOAuthError, setNoStore } from '../http/oauth-error.js';
import { providerDenialReason } from '../token-endpoint/provider-denial.js';
import { requestIdFrom } from '../http/request-id.js';
import { guardRevocation, type RevocationGuardDeps } from './revocation-guard.js';

export interface RevocationEndpointDeps extends RevocationGuardDeps {
  readonly path: string;
  readonly verify: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly actions: AdminActions;
  readonly log: Logger;
  readonly now: () => number;
}

const BASIC_CHALLENGE = 'Basic realm="revoke"';

interface OidcContext { oidc?: { client?: { clientId: string }; params?: Record<string, unknown> } }

export function revocationEndpoint(deps: RevocationEndpointDeps) {
  return async function revokeBrokerToken(ctx: Context, next: Next): Promise<void> {
    await next();
    if (ctx.path !== deps.path) return;
    setNoStore(ctx);
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    const reason = typeof body?.error === 'string'
      ? providerDenialReason({ error: body.error, ...(typeof body.error_description === 'string' ? { description: body.error_description } : {}) })
      : undefined;
    // RFC 7009 §2.1 with RFC 6749 §2.3: no client authentication is invalid_client (401), where oidc-provider says invalid_request.
    if (reason === 'client_authentication_missing') {
      renderOAuthError(ctx, denialAnswer(deny(reason, 'client authentication is required'), { 'WWW-Authenticate': BASIC_CHALLENGE }));
      return;
    }
    const { oidc } = ctx as unknown as OidcContext;
    if (!oidc?.client) return;
    const clientId = oidc.client.clientId;
    const requestId = requestIdFrom(ctx.get('x-request-id') || undefined);
    ctx.set('X-Request-Id', requestId);
    const refusal = await guardRevocation(deps, { clientId, requestId, callerAddress: ctx.ip, nowMs: deps.now() });
    if (refusal) {
      renderOAuthError(ctx, denialAnswer(refusal, {
        ...(refusal.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(refusal.retryAfterSeconds) }),
        ...(refusal.status === 401 ? { 'WWW-Authenticate': BASIC_CHALLENGE } : {}),
      }));
      return;
    }
    // Only this refusal means "client authenticated, token is a JWT"; every other answer stands as it is.
    if (ctx.status !== 400 || body?.error !== 'unsupported_token_type') return;
    const token = oidc.params?.token;
    const payload = typeof token === 'string' ? await deps.verify(token, deps.now()) : undefined;
    if (payload && payload.client_id === clientId && typeof payload.jti === 'string' && typeof payload.exp === 'number') {
      try {
        await deps.actions.revoke('token', payload.jti, {
          by: `agent:${clientId}`,
          reason: 'revoked by the agent (RFC 7009)',
          requestId,
          callerAddress: ctx.ip,
        }, { exp: payload.exp });
      } catch (err) {
        // A dependency of the model (attribution, shared state, replicas) is a 503 to retry; anything else is a fault (central handler).
        if (!(err instanceof BrokerError)) throw err;
        deps.log.error({ err, agent: clientId, request_id: requestId }, 'token revocation failed');
        renderBrokerError(ctx, new BrokerError(err.entry.status >= 500 ? err.reason : 'server_error', err.message, { cause: err, description: 'the revocation could not be recorded; try again' }));
        return;
      }
    }
    ctx.status = 200;
    ctx.body = '';
  };
}
