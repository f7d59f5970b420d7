/** What every console API route shares: the bounded JSON body, the required reason, the actor, the error shape. */
import type { Context, Next } from 'koa';
import { AdminActionError } from '../admin/admin-actions.js';
import { GuardrailAdminError } from '../guardrails/admin/json-body.js';
import { renderOAuthError } from '../http/oauth-error.js';
import { requestIdFrom } from '../http/request-id.js';
import { actorOf, type PersonSession } from '../sign-in/index.js';
import { StateUnavailableError } from '../state/shared-state.js';

/** A refusal of a console route: HTTP status and OAuth-style error code (RFC 6749 §5.2, RFC 6750 §3.1). */
export class ConsoleError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const MAX_BODY_BYTES = 16 * 1024;

export async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new AdminActionError('invalid_request', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AdminActionError('payload_too_large', 'the body is too large');
    chunks.push(chunk);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AdminActionError('invalid_request', 'the body must be a JSON object');
}

export function reasonOf(body: Record<string, unknown>): string {
  const { reason } = body;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    throw new AdminActionError('invalid_request', 'a reason (1-500 characters) is required');
  }
  return reason.trim();
}

export function personOf(ctx: Context): PersonSession {
  return ctx.state.person as PersonSession;
}

/** Who acted and from where, as every admin action records it: `by: person:<sub>`. */
export function actionContext(ctx: Context, reason: string) {
  return {
    by: actorOf(personOf(ctx)),
    reason,
    requestId: requestIdFrom(ctx.get('x-request-id') || undefined),
    callerAddress: ctx.ip,
  };
}

/** Every error of a console route as an OAuth-style JSON error; anything unknown fails closed as 503. */
export async function consoleErrors(ctx: Context, next: Next): Promise<void> {
  try {
    await next();
  } catch (err) {
    const known = err instanceof AdminActionError || err instanceof ConsoleError || err instanceof GuardrailAdminError
      ? err
      : err instanceof StateUnavailableError
        ? new AdminActionError('state_unavailable', 'shared state is unavailable; the action may not have taken effect: repeat it')
        : new AdminActionError('state_unavailable', 'the request could not be completed; retry');
    renderOAuthError(ctx, { status: known.status, error: known.code, description: known.message });
  }
}
