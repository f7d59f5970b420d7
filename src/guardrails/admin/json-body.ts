/** A bounded JSON-object request body for the guardrail admin routes. */
import type { Context } from 'koa';

export class GuardrailAdminError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const MAX_BODY_BYTES = 64 * 1024;

export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new GuardrailAdminError(400, 'invalid_request', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new GuardrailAdminError(413, 'invalid_request', 'the body is too large');
    chunks.push(chunk);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new GuardrailAdminError(400, 'invalid_request', 'the body must be a JSON object');
}

export function requiredReason(body: Record<string, unknown>): string {
  const { reason } = body;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    throw new GuardrailAdminError(400, 'invalid_request', 'a reason (1-500 characters) is required');
  }
  return reason.trim();
}
