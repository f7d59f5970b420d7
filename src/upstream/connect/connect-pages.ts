/** The few HTML pages of the consent flow: no script, escaped text, never a token. */
import type { Context } from 'koa';
import { setNoStore } from '../../http/oauth-error.js';

const escape = (s: string) => s.replace(/[&<>"']/gu, (c) => `&#${String(c.charCodeAt(0))};`);

export function connectPage(ctx: Context, status: number, title: string, message: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  setNoStore(ctx);
  // No script at all, and no framing (a consent result page is not something to embed).
  ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1 id="title">${escape(title)}</h1><p id="message">${escape(message)}</p></body></html>`;
}
