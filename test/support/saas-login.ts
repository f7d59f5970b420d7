/**
 * Drives the sample SaaS's authorization code + PKCE flow through its real login and consent pages with a
 * plain HTTP client (cookies kept by hand), ending at the redirect that carries the code.
 */
export async function loginAndConsent(authorizationUrl: URL, user: { username: string; password: string }, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
  // name + path -> value: the provider sets and clears cookies per interaction path.
  const jar = new Map<string, { name: string; path: string; value: string }>();
  const origin = authorizationUrl.origin;
  const send = async (url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> => {
    const target = new URL(url, origin);
    const cookie = [...jar.values()].filter((c) => target.pathname.startsWith(c.path)).map((c) => `${c.name}=${c.value}`).join('; ');
    const res = await fetch(target, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        cookie,
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = c.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const name = pair.slice(0, eq);
      const expired = attrs.some((a) => /^expires=thu, 01 jan 1970/i.test(a) || /^max-age=0$/i.test(a));
      if (expired) jar.delete(`${name}|${path}`);
      else jar.set(`${name}|${path}`, { name, path, value: pair.slice(eq + 1) });
    }
    return res;
  };
  let res = await send(authorizationUrl.href);
  for (let step = 0; step < 10; step += 1) {
    const location = res.headers.get('location');
    if (!location) throw new Error(`flow stopped with ${res.status}: ${await res.text()}`);
    const next = new URL(location, origin);
    if (next.origin !== origin) return next;
    const interaction = /^\/interaction\/([^/]+)$/.exec(next.pathname);
    if (!interaction) {
      res = await send(next.href);
      continue;
    }
    const pageRes = await send(next.href);
    const html = await pageRes.text();
    if (html.includes('name="password"')) res = await send(`${next.pathname}/login`, { method: 'POST', form: user });
    else res = await send(`${next.pathname}/${decision === 'allow' ? 'confirm' : 'abort'}`, { method: 'POST', form: { decision } });
  }
  throw new Error('too many redirects');
}
