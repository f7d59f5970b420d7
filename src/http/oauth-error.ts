/**
 * The one writer of OAuth-style error answers (RFC 6749 §5.2 JSON: `error`, `error_description`), for every
 * HTTP surface of the broker. Always `Cache-Control: no-store` (RFC 6749 §5.1): an error may name the caller's
 * request and must not be cached by an intermediary. The description is the caller-safe text of a Denial or
 * an infrastructure error: never a token, a secret or a stack trace.
 *   renderOAuthError     an answer given as status, error, description (the token endpoint's denials)
 *   renderBrokerError    an error of the closed set in src/errors/broker-errors.ts (every other surface)
 *   renderProviderError  oidc-provider's `renderError` hook, so its own routes answer the same way
 */
import type { Context } from 'koa';
import { BrokerError, type BrokerErrorReason } from '../errors/broker-errors.js';
import { denialStatus, type Denial } from '../exchange/reasons.js';

export interface OAuthErrorAnswer {
  readonly status: number;
  readonly error: string;
  readonly description: string;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export function setNoStore(ctx: Pick<Context, 'set'>): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
}

export function renderOAuthError(ctx: Context, answer: OAuthErrorAnswer): void {
  ctx.status = answer.status;
  ctx.type = 'application/json';
  ctx.body = { error: answer.error, error_description: answer.description };
  for (const [name, value] of Object.entries(answer.headers ?? {})) ctx.set(name, value);
  setNoStore(ctx);
}

/** The answer for a denial (src/exchange/reasons.ts): its OAuth error, the status of its reason, its description. */
export function denialAnswer(denial: Pick<Denial, 'reason' | 'error' | 'description'>, headers?: Readonly<Record<string, string>>): OAuthErrorAnswer {
  return { status: denialStatus(denial.reason), error: denial.error, description: denial.description, ...(headers ? { headers } : {}) };
}

/** The answer for an error of the closed set: its entry's error and status, its safe description, its headers. */
export function brokerErrorAnswer(err: BrokerError): OAuthErrorAnswer {
  const { entry } = err;
  const headers: Record<string, string> = {};
  if (err.retryAfterSeconds !== undefined) headers['Retry-After'] = String(err.retryAfterSeconds);
  if (entry.challenge !== undefined) headers['WWW-Authenticate'] = entry.challenge;
  return { status: entry.status, error: entry.error, description: err.description, headers };
}

/** Writes `err` (or the error of `reason` with a safe `description`) through the one renderer. */
export function renderBrokerError(ctx: Context, err: BrokerError | BrokerErrorReason, description?: string): void {
  const known = typeof err === 'string' ? new BrokerError(err, description, description === undefined ? {} : { description }) : err;
  renderOAuthError(ctx, brokerErrorAnswer(known));
}

/** What oidc-provider hands its `renderError` hook (`ErrorOut`): the error and, usually, a description. */
interface ProviderErrorOut { readonly error: string; readonly error_description?: string }

/**
 * oidc-provider's `renderError` (configuration): JSON whatever the Accept header says, no-store, and the
 * status oidc-provider chose (it sets `ctx.status` before calling the hook).
 */
export function renderProviderError(ctx: Context, out: ProviderErrorOut): void {
  renderOAuthError(ctx, { status: ctx.status, error: out.error, description: out.error_description ?? '' });
}
