import { describe, expect, it } from 'vitest';
import Koa from 'koa';
import { corsAllowed, SECURITY_HEADERS, securityHeaders } from '../../src/http/security-headers.js';
import { close, listen, serve } from '../../src/server/listen.js';

async function withApp(app: Koa, run: (url: string) => Promise<void>): Promise<void> {
  const { server, port } = await listen(undefined, '127.0.0.1', 0);
  serve(server, app.callback());
  try {
    await run(`http://127.0.0.1:${port}`);
  } finally {
    await close(server, 0);
  }
}

describe('securityHeaders', () => {
  it('keeps its headers on an answer produced by an uncaught error (Koa clears headers there)', async () => {
    const app = new Koa();
    app.silent = true;
    app.use(securityHeaders(new Set()));
    app.use(() => { throw new Error('boom'); });
    await withApp(app, async (url) => {
      const res = await fetch(`${url}/x`);
      expect(res.status).toBe(500);
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(name)).toBe(value);
    });
  });

  it('removes Access-Control-* headers except on the public paths', async () => {
    const app = new Koa();
    app.use(securityHeaders(new Set(['/jwks'])));
    app.use((ctx) => { ctx.set('Access-Control-Allow-Origin', '*'); ctx.set('Access-Control-Expose-Headers', 'WWW-Authenticate'); ctx.body = {}; });
    await withApp(app, async (url) => {
      expect((await fetch(`${url}/token`)).headers.get('access-control-allow-origin')).toBeNull();
      expect((await fetch(`${url}/token`)).headers.get('access-control-expose-headers')).toBeNull();
      expect((await fetch(`${url}/JWKS/`)).headers.get('access-control-allow-origin')).toBe('*');
    });
  });

  it('corsAllowed compares as the router does (ASCII case, one trailing slash)', () => {
    const paths = new Set(['/jwks']);
    expect(corsAllowed('/jwks', paths)).toBe(true);
    expect(corsAllowed('/Jwks/', paths)).toBe(true);
    expect(corsAllowed('/jwks/x', paths)).toBe(false);
    expect(corsAllowed('/token', paths)).toBe(false);
  });
});
