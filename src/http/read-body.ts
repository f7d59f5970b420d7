/** Reads a request body of at most `maxBytes` (413 beyond), for the broker's own routes. */
import type { Context } from 'koa';

export class BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function readBody(ctx: Context, maxBytes: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || '0');
  if (declared > maxBytes) throw new BodyError(413, 'the body is too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyError(413, 'the body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
