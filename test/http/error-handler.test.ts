/** The central error handler: the one renderer for everything a route throws, no stack, logged once with the request id. */
import { Writable } from 'node:stream';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError, refuse } from '../../src/errors/broker-errors.js';
import { brokerErrorHandler, classifyError } from '../../src/http/error-handler.js';
import { createLogger } from '../../src/log.js';
import { close, listen, serve } from '../../src/server/listen.js';

const servers: Parameters<typeof close>[0][] = [];
afterEach(async () => { await Promise.all(servers.splice(0).map((s) => close(s, 0))); });

/** A Koa app with the handler in front of `route`, and the log lines it wrote. */
async function app(route: Koa.Middleware): Promise<{ url: string; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>); done(); } });
  const koa = new Koa();
  koa.silent = true;
  koa.use(brokerErrorHandler({ log: createLogger('info', sink) }));
  koa.use(route);
  const { server, port } = await listen(undefined, '127.0.0.1', 0);
  serve(server, koa.callback());
  servers.push(server);
  return { url: `http://127.0.0.1:${String(port)}`, lines };
}

async function expectOAuthError(res: Response, status: number, error: string): Promise<Record<string, unknown>> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/u);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('pragma')).toBe('no-cache');
  const body = await res.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  return body;
}

describe('brokerErrorHandler', () => {
  it('answers an unexpected error 500 server_error without its message or stack, logged once with the request id', async () => {
    const { url, lines } = await app(() => { throw new TypeError('cannot read /etc/broker/secret.key at line 12'); });
    const res = await fetch(`${url}/admin/x`, { headers: { 'x-request-id': 'req-42' } });
    const body = await expectOAuthError(res, 500, 'server_error');
    expect(body.error_description).toBe('internal error');
    expect(JSON.stringify(body)).not.toMatch(/secret|TypeError|at /u);
    expect(res.headers.get('x-request-id')).toBe('req-42');
    await new Promise((resolve) => setImmediate(resolve));
    const failures = lines.filter((l) => l.msg === 'request failed');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 50, reason: 'server_error', request_id: 'req-42', path: '/admin/x' });
    expect((failures[0]?.err as { stack?: string } | undefined)?.stack).toContain('TypeError');
  });

  it('answers an error of the closed set with its entry, its safe description and its headers', async () => {
    const { url } = await app(() => { throw new BrokerError('state_unavailable', 'redis at 10.0.0.7 refused'); });
    const res = await fetch(url);
    const body = await expectOAuthError(res, 503, 'temporarily_unavailable');
    expect(body.error_description).toBe('shared state is unavailable; try again');
    expect(res.headers.get('retry-after')).toBe('1');
  });

  it('answers a refusal with its description and challenge, and logs nothing for a 4xx', async () => {
    const { url, lines } = await app(() => { throw refuse('admin_forbidden', 'this admin key has the viewer role'); });
    const res = await fetch(url);
    expect((await expectOAuthError(res, 403, 'insufficient_scope')).error_description).toBe('this admin key has the viewer role');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="admin", error="insufficient_scope"');
    expect(lines).toEqual([]);
  });

  it('gives Koa client errors (ctx.throw) the reason of their status, never their message', async () => {
    const { url } = await app((ctx) => { ctx.throw(413, 'request entity too large: 99999999 bytes'); });
    const body = await expectOAuthError(await fetch(url), 413, 'invalid_request');
    expect(body.error_description).toBe('the body is too large');
    expect(classifyError(Object.assign(new Error('x'), { status: 404, expose: true })).reason).toBe('not_found');
    expect(classifyError(Object.assign(new Error('x'), { status: 502, expose: false })).reason).toBe('server_error');
  });

  it('adds no-store to an error answer a layer below wrote as a body (oidc-provider renders its own routes)', async () => {
    const { url } = await app((ctx) => { ctx.status = 400; ctx.body = { error: 'invalid_request', error_description: 'x' }; });
    expect((await fetch(url)).headers.get('cache-control')).toBe('no-store');
  });

  it('leaves successful answers alone', async () => {
    const { url } = await app((ctx) => { ctx.set('Cache-Control', 'public, max-age=300'); ctx.body = { ok: true }; });
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
  });
});
