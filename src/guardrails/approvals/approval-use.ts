/**
 * `POST /approvals/<id>/used` (issue 18): the tool's side of the attribution chain. The validation SDK's
 * ActionGuard, once it has accepted an approved single-use token (the call's canonical arguments match the
 * digest, first use in the replay store the tool's replicas share), reports the use here; when it refuses a
 * second use it reports that too. The broker writes one `type: approval` record per distinct report:
 *   - `used`: the token (by `jti` and `exp` only) was accepted at the tool, by which validator key;
 *   - `replayed`: a further use. `outcome=replayed` means the SDK refused it (as it should); a second
 *     `outcome=used` for another use id means a tool replica accepted it again (its replay store is not
 *     shared): that answers 409 so the SDK can tell, and the record says so.
 * Form body (RFC 7662 style): `token` (the approved token itself: the broker verifies it is its own, minted
 * for this approval, and for a resource the caller may see), `outcome` (`used` | `replayed`) and `use_id`
 * (the SDK's random id for this use): a retried report with the same `use_id` is answered again and
 * recorded once (idempotent). Authenticated like introspection: a validator key (or admin key).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { JWTPayload } from 'jose';
import { BrokerError, refuse } from '../../errors/broker-errors.js';
import { requestIdFrom } from '../../http/request-id.js';
import { renderBrokerError, setNoStore } from '../../http/oauth-error.js';
import { readBody } from '../../http/read-body.js';
import type { ValidatorAuthenticator } from '../../introspection/validator-caller.js';
import { approvalRecord, type ApprovalRecord } from './approval-record.js';
import type { ApprovalStore } from './approval-store.js';

export interface ApprovalUseDeps {
  readonly store: ApprovalStore;
  readonly authenticate: ValidatorAuthenticator;
  /** Verifies a token this broker minted (its own keys, exact issuer, unexpired). */
  readonly verify: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly record: (record: ApprovalRecord) => Promise<void>;
  readonly now: () => number;
}

const MAX_BODY_BYTES = 32 * 1024;
const USE_ID = /^[A-Za-z0-9_-]{16,64}$/u;

function audiences(payload: JWTPayload): string[] {
  return typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
}

export function approvalUseRouter(deps: ApprovalUseDeps): Router {
  const router = new Router();

  router.post('/approvals/:id/used', async (ctx: Context) => {
    setNoStore(ctx);
    const { id } = ctx.params as { id: string };
    let params: URLSearchParams;
    try {
      if (!ctx.is('application/x-www-form-urlencoded')) throw refuse('invalid_request', 'the body must be application/x-www-form-urlencoded');
      params = new URLSearchParams(await readBody(ctx, MAX_BODY_BYTES));
    } catch (err) {
      renderBrokerError(ctx, err instanceof BrokerError ? err : refuse('invalid_request', 'the body cannot be read'));
      return;
    }
    const caller = await deps.authenticate({ authorization: ctx.get('authorization') || undefined, form: params, callerAddress: ctx.ip });
    if (caller === undefined) { renderBrokerError(ctx, 'validator_unauthorized'); return; }

    const [token, outcome, useId] = ['token', 'outcome', 'use_id'].map((name) => {
      const all = params.getAll(name);
      return all.length === 1 ? all[0] : undefined;
    });
    if (outcome !== 'used' && outcome !== 'replayed') { renderBrokerError(ctx, 'invalid_request', 'outcome must be used or replayed'); return; }
    if (useId === undefined || !USE_ID.test(useId)) { renderBrokerError(ctx, 'invalid_request', 'use_id must be 16 to 64 base64url characters'); return; }
    const nowMs = deps.now();
    const payload = token ? await deps.verify(token, nowMs) : undefined;
    // The token must be this broker's, for this approval, and for a resource this caller may see (least disclosure).
    if (!payload || payload.approval_id !== id || typeof payload.jti !== 'string' || typeof payload.exp !== 'number'
      || (caller.resources && !audiences(payload).some((aud) => caller.resources?.has(aud)))) {
      renderBrokerError(ctx, 'invalid_request', 'token is not an active single-use token of this approval');
      return;
    }
    try {
      const result = await deps.store.recordUse(id, { kind: outcome, jti: payload.jti, useId, by: caller.id, atMs: nowMs });
      if (result === 'not_found' || result === 'not_minted' || result === 'other_token') {
        renderBrokerError(ctx, 'invalid_request', 'this approval issued no such token');
        return;
      }
      const approval = await deps.store.get(id);
      if (approval === null) { renderBrokerError(ctx, 'invalid_request', 'this approval issued no such token'); return; }
      // A second accepted use: the tool's replicas do not share one replay store.
      const doubleUse = outcome === 'used' && result === 'again';
      if (result !== 'retry') {
        const reason = outcome === 'replayed' ? 'a further use was refused by the tool' : doubleUse ? 'a further use was accepted by the tool: its replicas do not share one replay store' : undefined;
        await deps.record(approvalRecord(approval, result === 'first' ? 'used' : 'replayed', {
          nowMs, requestId: requestIdFrom(ctx.get('x-request-id') || undefined), callerAddress: ctx.ip,
          by: caller.id, via: 'validator', token: { jti: payload.jti, exp: payload.exp }, ...(reason !== undefined ? { reason } : {}),
        }));
      }
      ctx.status = doubleUse ? 409 : 200;
      ctx.body = { approval_id: id, recorded: result === 'retry' ? 'already' : result === 'first' ? 'used' : 'replayed', ...(doubleUse ? { error: 'invalid_grant', error_description: 'this single-use token had already been used' } : {}) };
    } catch (err) {
      // The use happened at the tool whatever we answer; the SDK retries the same use_id (idempotent).
      renderBrokerError(ctx, new BrokerError('state_unavailable', undefined, { cause: err, description: 'the use cannot be recorded right now; retry' }));
    }
  });

  return router;
}
