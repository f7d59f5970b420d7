/** Reads a small `application/x-www-form-urlencoded` body (the sample's HTML forms). Bounded: 8 KiB. */
import type { IncomingMessage } from 'node:http';

const LIMIT = 8192;

export async function readFormBody(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > LIMIT) throw new Error('form body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
