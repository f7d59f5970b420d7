/**
 * The token request as the steps see it: plain values read from the HTTP request once, at the edge
 * (token-endpoint.ts), plus the one piece of I/O a step may start on it, reading the bounded body.
 */
export interface TokenHttpRequest {
  readonly method: string;
  /** The URL query, without `?` ('' when none). */
  readonly querystring: string;
  readonly contentType: string | undefined;
  /** The announced Content-Length, if any. */
  readonly contentLength: number | undefined;
  readonly authorization: string | undefined;
  /** The `Origin` header (a browser's request), if any. */
  readonly origin: string | undefined;
  /** The raw header lines, name and value alternating (repeated headers stay separate: DPoP). */
  readonly rawHeaders: readonly string[];
  /** The TCP peer address (`proxy` is off: X-Forwarded-For is never trusted). */
  readonly address: string;
  /** Reads the body, at most `maxBytes` of it; undefined when there is no body to read. */
  readBody(maxBytes: number): Promise<Buffer | 'too_large' | undefined>;
}
