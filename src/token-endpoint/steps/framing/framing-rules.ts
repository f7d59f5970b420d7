/**
 * Request framing checks that run before oidc-provider parses anything (STANDARDS 1, 10, 14):
 * POST only, a form-encoded body, no parameters in the URL query (credentials there would end up in logs),
 * and a bounded body size announced up front.
 */
import { deny, type Denial } from '../../../exchange/reasons.js';

export interface FramingInput {
  readonly method: string;
  readonly querystring: string;
  readonly contentType: string | undefined;
  readonly contentLength: number | undefined;
}

export interface FramingRejection { readonly status: number; readonly denial: Denial; readonly headers?: Record<string, string> }

/** A `charset` parameter of the Content-Type, quoted or not (RFC 9110 §8.3.1). */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/iu;

export function checkFraming(req: FramingInput, maxBodyBytes: number): FramingRejection | null {
  if (req.method !== 'POST') {
    return { status: 400, denial: deny('request_method', 'the token endpoint accepts only POST'), headers: { Allow: 'POST' } };
  }
  if (req.querystring.length > 0) {
    return { status: 400, denial: deny('request_query_parameters', 'parameters in the URL query are not accepted; send them in the form body') };
  }
  const mediaType = req.contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    return { status: 400, denial: deny('request_content_type', 'the body must be application/x-www-form-urlencoded') };
  }
  const charset = CHARSET.exec(req.contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    // RFC 6749 Appendix B: the form is UTF-8. Another declared charset would make oidc-provider decode the
    // body differently from the UTF-8 check of the raw bytes (check-form-encoding.ts).
    return { status: 400, denial: deny('request_content_type', 'the body must be UTF-8 encoded (RFC 6749 Appendix B)') };
  }
  if (req.contentLength !== undefined && req.contentLength > maxBodyBytes) return tooLarge(maxBodyBytes);
  return null;
}

/** A body over the limit, whether announced by Content-Length or found while reading a chunked body. */
export function tooLarge(maxBodyBytes: number): FramingRejection {
  return { status: 413, denial: deny('request_too_large', `the request body exceeds ${maxBodyBytes} bytes`) };
}
