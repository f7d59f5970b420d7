/**
 * RFC 7009 revocation of broker tokens by the agent that holds them, the broker's own handler for
 * `POST /revoke`. The agent authenticates exactly as at the token endpoint: the same steps, `framing` and
 * `client-authentication` (src/token-endpoint/steps/), against the agents in force (reload/live-config.ts),
 * so a reload that adds an agent or changes its credentials takes effect here at once, and one replay cache
 * of client assertions serves both endpoints and every replica (provider/assertion-replay.ts).
 * A valid, unexpired broker token issued to this agent then gets a `token` revocation rule (attributed,
 * `by: agent:<client_id>`), effective at once, pushed to validators, and dropped when the token expires.
 * Revoking the same token again changes nothing (one rule per jti). Per RFC 7009 §2.2 the answer is 200
 * whether or not the token was known, valid or the agent's own.
 *
 * Every authenticated call is first checked (revocation-guard.ts): a suspended or revoked agent is refused,
 * and calls are rate-limited per agent (429 with Retry-After; each refusal counts toward the kill switch's
 * rate-limit trigger), so that no agent can grow the rule set without bound. Failed client authentications
 * are counted in the failure ledger (auth/failure-ledger.ts): one aggregated record per source and interval.
 */
import type { Context, Next } from 'koa';
import type { JWTPayload } from 'jose';
import type { AdminActions } from '../admin/admin-actions.js';
import type { AuthFailureReason } from '../auth/failure-ledger.js';
import type { RawParams } from '../domain/exchange.js';
import type { Logger } from '../log.js';
import { BrokerError } from '../errors/broker-errors.js';
import { deny, type DenialReason } from '../exchange/reasons.js';
import { denialAnswer, renderBrokerError, renderOAuthError, setNoStore } from '../http/oauth-error.js';
import { requestIdFrom } from '../http/request-id.js';
import { runPipeline } from '../token-endpoint/pipeline/runner.js';
import type { Refusal, Step } from '../token-endpoint/pipeline/step.js';
import { renderTokenAnswer } from '../token-endpoint/render.js';
import { clientAuthentication, type ClientAuthenticationDeps } from '../token-endpoint/steps/client-authentication.js';
import { framing, type FramingDeps } from '../token-endpoint/steps/framing.js';
import { tokenHttpRequest } from '../token-endpoint/token-endpoint.js';
import { guardRevocation, type RevocationGuardDeps } from './revocation-guard.js';

export type RevocationClientDeps = FramingDeps & ClientAuthenticationDeps;

export interface RevocationEndpointDeps extends RevocationGuardDeps {
  readonly path: string;
  readonly verify: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly actions: AdminActions;
  readonly log: Logger;
  readonly now: () => number;
  /** What the token endpoint's `framing` and `client-authentication` steps read (the same values). */
  readonly client: RevocationClientDeps;
  /** A failed client authentication, for the failure ledger (aggregated, never one record per failure). */
  readonly onAuthFailure?: (reason: AuthFailureReason, callerAddress: string, presentedId?: string) => void;
}

const BASIC_CHALLENGE = 'Basic realm="revoke"';
const CLIENT_AUTHENTICATION = clientAuthentication.name;

/** The token endpoint's first steps, as they are: one implementation of client authentication. */
const REVOKE_STEPS: readonly Step<RevocationClientDeps>[] = [framing, clientAuthentication];

/** How a refusal of `client-authentication` is counted; throttled and busy refusals are not failures. */
function failureReason(reason: DenialReason, usedHeader: boolean): AuthFailureReason | undefined {
  switch (reason) {
    case 'client_authentication_missing': return 'missing';
    case 'agent_unknown': return 'unknown_id';
    case 'client_authentication_failed': return usedHeader ? 'wrong_secret' : 'assertion_invalid';
    case 'state_unavailable': return 'replay_check_unavailable';
    case 'client_authentication_throttled':
    case 'client_authentication_busy': return undefined;
    default: return 'malformed';
  }
}

/** RFC 7009 §2.1: `token` is required, once; `token_type_hint` at most once (RFC 6749 §3.2). */
function tokenParameter(form: RawParams): string | Refusal {
  for (const name of ['token', 'token_type_hint']) {
    if (Array.isArray(form[name])) return { kind: 'refused', denial: deny('request_malformed', `'${name}' parameter must not be provided twice`) };
  }
  const token = Object.hasOwn(form, 'token') ? form.token : undefined;
  return typeof token === 'string' && token !== '' ? token : { kind: 'refused', denial: deny('request_malformed', "missing required parameter 'token'") };
}

export function revocationEndpoint(deps: RevocationEndpointDeps) {
  const realm = deps.client.issuer;
  return async function revokeBrokerToken(ctx: Context, next: Next): Promise<void> {
    // Any other method is not this endpoint (404, like any unknown path).
    if (ctx.path !== deps.path || ctx.method !== 'POST') {
      await next();
      return;
    }
    setNoStore(ctx);
    const requestId = requestIdFrom(ctx.get('x-request-id') || undefined);
    ctx.set('X-Request-Id', requestId);
    const request = tokenHttpRequest(ctx);
    const usedHeader = request.authorization !== undefined && request.authorization !== '';
    let refusedBy: string | undefined;
    const outcome = await runPipeline(REVOKE_STEPS, { requestId }, request, deps.client, {
      onStep: (step, _ms, result) => { if (result !== 'established') refusedBy = step; },
      onError: (step, err) => { deps.log.error({ err, step }, 'revocation client authentication failed'); },
    });
    // Success is every step having established its facts (the runner's own result then speaks of the missing
    // grant, which is the token endpoint's business, not this endpoint's).
    const { clientId, form } = refusedBy === undefined ? outcome.established : {};
    if (clientId === undefined || form === undefined) {
      const refusal: Refusal = outcome.result.kind === 'refused' && refusedBy !== undefined
        ? outcome.result
        : { kind: 'refused', denial: deny('internal_error', 'the request could not be processed') };
      const counted = refusedBy === CLIENT_AUTHENTICATION ? failureReason(refusal.denial.reason, usedHeader) : undefined;
      if (counted) deps.onAuthFailure?.(counted, request.address, outcome.established.clientId);
      // RFC 7009 §2.1 with RFC 6749 §2.3: no client authentication is 401 invalid_client, challenged for this endpoint.
      const missing = refusal.denial.reason === 'client_authentication_missing';
      renderTokenAnswer(ctx, missing ? { ...refusal, headers: { 'WWW-Authenticate': BASIC_CHALLENGE } } : refusal, { usedAuthorizationHeader: usedHeader, realm });
      return;
    }
    const refusal = await guardRevocation(deps, { clientId, requestId, callerAddress: request.address, nowMs: deps.now() });
    if (refusal) {
      renderOAuthError(ctx, denialAnswer(refusal, {
        ...(refusal.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(refusal.retryAfterSeconds) }),
        ...(refusal.status === 401 ? { 'WWW-Authenticate': BASIC_CHALLENGE } : {}),
      }));
      return;
    }
    const token = tokenParameter(form);
    if (typeof token !== 'string') {
      renderTokenAnswer(ctx, token, { usedAuthorizationHeader: usedHeader, realm });
      return;
    }
    const payload = await deps.verify(token, deps.now());
    if (payload && payload.client_id === clientId && typeof payload.jti === 'string' && typeof payload.exp === 'number') {
      try {
        await deps.actions.revoke('token', payload.jti, {
          by: `agent:${clientId}`,
          reason: 'revoked by the agent (RFC 7009)',
          requestId,
          callerAddress: request.address,
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
