/**
 * The operator console at `/console`: one HTML shell for every page (the front end routes by hash), its
 * script and stylesheet, and the JSON API (console-api.ts). Pages need a signed-in person; without a session
 * the browser is sent to sign in and comes back.
 *
 * Content-Security-Policy for console responses only (everything else keeps `default-src 'none'`,
 * src/http/security-headers.ts): scripts, styles and fetches from this origin only, no inline script or
 * style, no plugins, no framing, forms only to this origin.
 */
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { SIGN_IN_PATHS } from '../sign-in/index.js';
import { consoleApi, type ConsoleApiDeps } from './console-api.js';
import { uiAssets } from './ui-assets.js';

export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const SHELL = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Broker console</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/console/assets/app.css"></head><body><div id="app"><p class="loading">Loading the console…</p></div><noscript>The console needs JavaScript.</noscript><script type="module" src="/console/assets/app.js"></script></body></html>`;

/** The console's middleware, in order: pages and assets, then the API. */
export function consoleRoutes(deps: ConsoleApiDeps) {
  const router = new Router();
  const api = consoleApi(deps);

  const csp = async (ctx: Context, next: Next): Promise<void> => {
    await next();
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
  };

  router.get('/console/assets/app.js', csp, async (ctx) => {
    ctx.type = 'text/javascript; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = (await uiAssets()).js;
  });
  router.get('/console/assets/app.css', csp, async (ctx) => {
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = (await uiAssets()).css;
  });

  const shell = async (ctx: Context): Promise<void> => {
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    if (!(await deps.signIn.sessionOf(ctx))) {
      ctx.redirect(`${SIGN_IN_PATHS.login}?return_to=${encodeURIComponent(ctx.path)}`);
      return;
    }
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = SHELL;
  };
  router.get('/console', shell);
  router.get('/console/', shell);

  return [router.routes(), api.routes()] as const;
}
