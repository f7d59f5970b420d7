/**
 * The one writer of OAuth-style error answers (RFC 6749 §5.2 JSON: `error`, `error_description`), for every
 * HTTP surface of the broker. Always `Cache-Control: no-store` (RFC 6749 §5.1): an error may name the caller's
 * request and must not be cached by an intermediary. The description is the caller-safe text of a Denial or
 * an infrastructure error: never a token, a secret or a stack trace.
 */
import type { Context } from 'koa';

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
