/** The feed's HTTP answers when a cap is reached: 429 per validator key, 503 in total, with Retry-After. */
import type { Server } from 'node:http';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValidatorRoutes, type ValidatorRouter } from '../../src/introspection/introspection-routes.js';
import { close, listen } from '../../src/server/listen.js';
import { MemoryState } from '../../src/state/memory-state.js';

let routes: ValidatorRouter;
let server: Server;
let url: string;
const controllers: AbortController[] = [];

beforeAll(async () => {
  routes = createValidatorRoutes({
    state: new MemoryState(),
    verify: () => Promise.resolve(undefined),
    authenticate: ({ authorization }) => Promise.resolve(authorization?.startsWith('Bearer ') ? { id: authorization.slice(7), kind: 'validator_key' } : undefined),
    now: Date.now,
    feed: { maxPerKey: 1, maxSubscribers: 2 },
  });
  const app = new Koa();
  app.use(routes.router.routes());
  const listening = await listen(app.callback(), '127.0.0.1', 0);
  server = listening.server;
  url = `http://127.0.0.1:${String(listening.port)}`;
});
afterAll(async () => {
  for (const c of controllers) c.abort();
  routes.close();
  await close(server, 0);
});

async function subscribe(key: string): Promise<Response> {
  const controller = new AbortController();
  controllers.push(controller);
  return fetch(`${url}/revocations/stream`, { headers: { authorization: `Bearer ${key}` }, signal: controller.signal });
}

describe('feed subscription caps over HTTP', () => {
  it('answers 429 past the per-key cap and 503 past the total, each with Retry-After and an OAuth error', async () => {
    const first = await subscribe('a');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/text\/event-stream/u);
    const perKey = await subscribe('a');
    expect(perKey.status).toBe(429);
    expect(perKey.headers.get('retry-after')).toBe('10');
    expect(await perKey.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect((await subscribe('b')).status).toBe(200);
    const total = await subscribe('c');
    expect(total.status).toBe(503);
    expect(total.headers.get('retry-after')).toBe('5');
    expect(await total.json()).toMatchObject({ error: 'temporarily_unavailable' });
  });
});
