/**
 * A request answered with the response's raw header list (names and values, in order, as sent), for tests
 * that compare two answers byte for byte (the token endpoint's fast paths against the Koa route).
 */
import { request } from 'node:http';

export interface RawAnswer { readonly status: number; readonly rawHeaders: string[]; readonly body: string }

export function rawHttp(url: string, opts: { readonly body: string; readonly headers?: Record<string, string>; readonly path?: string; readonly method?: string; readonly localAddress?: string }): Promise<RawAnswer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname, port: target.port, path: opts.path ?? target.pathname, method: opts.method ?? 'POST',
      ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }),
      headers: { 'content-length': String(Buffer.byteLength(opts.body)), ...opts.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }); });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Header names and values in order, without the one that differs by the second (`Date`). */
export function headerPairs(answer: RawAnswer): string[][] {
  const pairs: string[][] = [];
  for (let i = 0; i < answer.rawHeaders.length; i += 2) pairs.push([answer.rawHeaders[i] ?? '', answer.rawHeaders[i + 1] ?? '']);
  return pairs.filter(([name]) => name?.toLowerCase() !== 'date');
}
