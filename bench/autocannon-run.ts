/** One bounded autocannon run of the bench's POST requests (load.ts, alternate-load.ts). */
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';

export interface RequestSource {
  /** The fixed body, or the template (`{{TOKEN}}`) that `nextBody` fills. */
  readonly body: string;
  /** The next body: the fixed body, or the template with the pool's next token. */
  readonly nextBody: () => string;
  /** Distinct pool tokens sent so far, and whether the pool wrapped (undefined without a pool). */
  readonly used: () => { tokensUsed: number; poolWrapped: boolean } | undefined;
  readonly pooled: boolean;
}

/** Bodies for `body`, where `{{TOKEN}}` takes the next line of `tokenPoolFile` (when given) on every request. */
export async function requestSource(body: string, tokenPoolFile: string | undefined): Promise<RequestSource> {
  const pool = tokenPoolFile ? (await readFile(tokenPoolFile, 'utf8')).split('\n').filter((l) => l.length > 0) : [];
  let next = 0;
  return {
    body,
    pooled: pool.length > 0,
    nextBody: () => {
      if (pool.length === 0) return body;
      const token = pool[next % pool.length] ?? '';
      next += 1;
      return body.replace('{{TOKEN}}', token);
    },
    used: () => (pool.length === 0 ? undefined : { tokensUsed: Math.min(next, pool.length), poolWrapped: next > pool.length }),
  };
}

/** Sends one request and throws unless it is answered 200 with `expect` in the body (errors are not benchmarked). */
export async function probe(url: string, headers: Record<string, string>, source: RequestSource, expect: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers, body: source.nextBody() });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(expect)) throw new Error(`sanity request to ${url} failed: ${res.status} ${text.slice(0, 500)}`);
}

export function runAutocannon(url: string, headers: Record<string, string>, source: RequestSource, connections: number, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections,
    duration: seconds,
    requests: [{
      method: 'POST',
      headers,
      body: source.body,
      ...(source.pooled ? { setupRequest: (req: autocannon.Request) => ({ ...req, body: source.nextBody() }) } : {}),
    }],
  });
}
