/**
 * Fetching a trusted issuer's discovery document and key set with bounds: at most `maxBytes` of body are
 * ever read (a declared Content-Length over it is refused before reading; a chunked or lying body is cut
 * off as soon as it passes the bound, and the connection is dropped), and a key set may hold at most
 * `maxKeys` keys. Without these, one misbehaving or compromised identity provider (a 57 MB JWKS was
 * measured to cost 550 MB of broker memory) could exhaust every replica. Callers fail closed.
 */

export interface FetchBounds {
  /** Largest body read from a discovery or JWKS response (default 256 KiB). */
  readonly maxBytes: number;
  /** Most keys accepted in a key set (default 100). */
  readonly maxKeys: number;
}

export const DEFAULT_FETCH_BOUNDS: FetchBounds = { maxBytes: 256 * 1024, maxKeys: 100 };

/** Why a response was refused, for the log line (never the body itself). */
export interface BoundRefusal {
  readonly url: string;
  readonly problem: 'too_large' | 'too_many_keys';
  readonly limit: number;
  /** Bytes declared or read so far, or keys counted. */
  readonly observed: number;
}

type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** The body of `res`, read up to `maxBytes`; if it is longer, `over` (and the stream is cancelled at once). */
export async function readAtMost(res: Response, maxBytes: number): Promise<{ bytes: Uint8Array } | { over: number }> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return { over: declared };
  }
  if (!res.body) return { bytes: new Uint8Array(0) };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { over: total };
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes };
}

/** How many keys a JWKS body holds, if it is a JSON object with a `keys` array (else undefined: the caller's parser decides). */
export function keyCount(bytes: Uint8Array): number | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const keys = (parsed as { keys?: unknown }).keys;
    return Array.isArray(keys) ? keys.length : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A fetch for jose's remote key set or openid-client's discovery: the same request, with the body bounded
 * (and, for a key set, the keys counted). A refused answer is reported to `onRefused` and thrown as `fail(...)`.
 */
export function boundedFetch(
  bounds: FetchBounds,
  kind: 'discovery' | 'jwks',
  fail: (message: string) => Error,
  onRefused: (refusal: BoundRefusal) => void,
  fetchImpl: FetchLike = fetch,
): FetchLike {
  return async (url, init) => {
    const res = await fetchImpl(url, init);
    // Non-200 answers are the callers' to judge; their bodies are not read beyond the bound either.
    const body = await readAtMost(res, bounds.maxBytes);
    if ('over' in body) {
      onRefused({ url, problem: 'too_large', limit: bounds.maxBytes, observed: body.over });
      throw fail(`the ${kind} response from ${url} is larger than ${bounds.maxBytes} bytes`);
    }
    if (kind === 'jwks' && res.status === 200) {
      const count = keyCount(body.bytes);
      if (count !== undefined && count > bounds.maxKeys) {
        onRefused({ url, problem: 'too_many_keys', limit: bounds.maxKeys, observed: count });
        throw fail(`the key set at ${url} holds ${count} keys, more than ${bounds.maxKeys}`);
      }
    }
    const nullBody = res.status === 204 || res.status === 205 || res.status === 304;
    return new Response(nullBody ? null : body.bytes, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
