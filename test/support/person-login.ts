/**
 * A person signing in through a real browser-less HTTP walk: the broker's /signin/login, the development
 * identity provider's login form (oidc-provider interactions), back to the broker's callback. A minimal
 * cookie jar per origin stands in for the browser (the browser tests use Chromium).
 */
export class CookieJar {
  readonly #jars = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const origin = new URL(url).origin;
    const jar = this.#jars.get(origin) ?? new Map<string, string>();
    this.#jars.set(origin, jar);
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/max-age=0(;|$)/iu.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  header(url: string): string {
    const jar = this.#jars.get(new URL(url).origin);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join('; ') : '';
  }

  get(url: string, name: string): string | undefined {
    return this.#jars.get(new URL(url).origin)?.get(name);
  }
}

export async function request(jar: CookieJar, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie !== '') headers.set('cookie', cookie);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(url, response);
  return response;
}

/** Follows redirects (GET) from `url` until a non-redirect answer; returns it and its URL. */
export async function follow(jar: CookieJar, url: string, init: RequestInit = {}): Promise<{ response: Response; url: string }> {
  let current = url;
  let response = await request(jar, current, init);
  for (let hops = 0; response.status >= 300 && response.status < 400 && hops < 10; hops += 1) {
    const location = response.headers.get('location');
    if (location === null) break;
    current = new URL(location, current).href;
    await response.body?.cancel();
    response = await request(jar, current);
  }
  return { response, url: current };
}

export interface SignedIn {
  readonly jar: CookieJar;
  /** The last answer: the broker's "signed in, continue" page on success. */
  readonly response: Response;
  readonly url: string;
}

/** Signs `username` in at the broker `baseUrl`; the jar then holds the broker session cookie. */
export async function signInWithPassword(baseUrl: string, username: string, password: string, returnTo = '/'): Promise<SignedIn> {
  const jar = new CookieJar();
  const form = await follow(jar, `${baseUrl}/signin/login?return_to=${encodeURIComponent(returnTo)}`);
  if (form.response.status !== 200) throw new Error(`login form: ${String(form.response.status)} at ${form.url}`);
  const html = await form.response.text();
  const action = /action="([^"]+)"/u.exec(html)?.[1];
  if (action === undefined) throw new Error('no login form');
  const post = await request(jar, new URL(action, form.url).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  const location = post.headers.get('location');
  if (location === null) return { jar, response: post, url: form.url };
  const done = await follow(jar, new URL(location, form.url).href);
  return { jar, response: done.response, url: done.url };
}
