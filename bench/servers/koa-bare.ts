/** Baseline: bare koa 3 + @koa/router, a form-POST endpoint (body read and parsed by hand) returning ~600 B of JSON. */
import Koa from 'koa';
import Router from '@koa/router';
import { listen } from '../../src/server/listen.js';
import { announce } from '../protocol.js';

async function readForm(req: NodeJS.ReadableStream, limit: number): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > limit) throw new Error('body too large');
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const filler = 'x'.repeat(420);
const app = new Koa();
const router = new Router();
router.post('/token', async (ctx) => {
  const form = await readForm(ctx.req, 49152);
  ctx.set('Cache-Control', 'no-store');
  ctx.body = {
    access_token: filler,
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: 300,
    scope: form.get('scope') ?? '',
  };
});
app.use(router.routes());

const { server, port } = await listen(app.callback(), '127.0.0.1', 0);
announce(server, port);
