/**
 * The on-call engineer's side of the admin API: needs only the broker URL and an admin key
 * (flags or BROKER_URL / BROKER_ADMIN_KEY). Prints the result; returns a non-zero exit code on failure.
 */
export interface AdminTarget { readonly url: string; readonly key: string }

export async function callAdmin(target: AdminTarget, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ ok: boolean; status: number; body: unknown }> {
  const res = await fetch(new URL(path, target.url), {
    method,
    headers: { authorization: `Bearer ${target.key}`, 'content-type': 'application/json', accept: 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { ok: res.ok, status: res.status, body: parsed };
}

export function describeFailure(result: { status: number; body: unknown }): string {
  const b = result.body as { error?: unknown; error_description?: unknown } | undefined;
  const detail = typeof b?.error_description === 'string' ? b.error_description : JSON.stringify(result.body);
  return `HTTP ${result.status}${typeof b?.error === 'string' ? ` ${b.error}` : ''}: ${detail}`;
}
