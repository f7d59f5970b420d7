/** Reads a request body of at most `maxBytes` (413 `payload_too_large` beyond), for the broker's own routes. */
import type { Context } from 'koa';
import { refuse } from '../errors/broker-errors.js';

export async function readBody(ctx: Context, maxBytes: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || '0');
  if (declared > maxBytes) throw refuse('payload_too_large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw refuse('payload_too_large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
