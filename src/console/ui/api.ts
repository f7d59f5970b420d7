/** Talking to /console/api: JSON in and out, the session's CSRF token on every state change. */
export interface Session { readonly sub: string; readonly name: string; readonly roles: readonly string[]; readonly csrf_token: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrf = '';
/** Same name as src/sign-in/sign-in.ts BACKGROUND_HEADER (the bundle does not import server code). */
const BACKGROUND_HEADER = 'x-console-background';
export function setCsrf(token: string): void {
  csrf = token;
}

async function parse<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string };
  if (!res.ok) {
    if (res.status === 401) window.location.assign(`/signin/login?return_to=${encodeURIComponent('/console/' + window.location.hash)}`);
    throw new ApiError(res.status, body.error ?? 'error', body.error_description ?? `request failed (${String(res.status)})`);
  }
  return body as T;
}

/** `background`: the page polls by itself; the broker does not count it as the person's activity. */
export async function get<T>(path: string, background = false): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...(background ? { [BACKGROUND_HEADER]: '1' } : {}) };
  return parse<T>(await fetch(`/console/api${path}`, { headers, credentials: 'same-origin' }));
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  return parse<T>(await fetch(`/console/api${path}`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
  }));
}

/** Forgets the session here; the answer names the identity provider's logout page, where the browser goes next. */
export async function logout(): Promise<string> {
  const res = await fetch('/signin/logout', { method: 'POST', credentials: 'same-origin', headers: { 'x-csrf-token': csrf, accept: 'application/json' } });
  const body = (await res.json().catch(() => ({}))) as { end_session_url?: string };
  return typeof body.end_session_url === 'string' ? body.end_session_url : '/console/';
}

export function query(params: Record<string, string>): string {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== ''));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
