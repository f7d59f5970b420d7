/**
 * The `Authorization: Basic` header of client_secret_basic (RFC 6749 §2.3.1): `base64(id ":" secret)`, each
 * half form-urlencoded (Appendix B) and, decoded, made of visible ASCII (VSCHAR, Appendix A). Pure.
 */
import { deny, type Denial } from '../../../exchange/reasons.js';

export interface BasicCredentials {
  readonly clientId: string;
  readonly secret: string;
}

/** Canonical base64 only (RFC 4648 §4): padding exactly where the length needs it, no stray characters. */
function isBase64(value: string): boolean {
  const match = /^([A-Za-z0-9+/]*)(={0,2})$/u.exec(value);
  if (!match?.[1]) return false;
  const remainder = match[1].length % 4;
  if (!match[2]) return remainder !== 1;
  return (match[1].length + match[2].length) % 4 === 0 && match[2].length === 4 - remainder;
}

const NOT_VSCHAR = /[^\x20-\x7E]/u;

function decodePart(part: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(part.replace(/\+/gu, '%20'));
  } catch {
    return undefined;
  }
  return NOT_VSCHAR.test(decoded) ? undefined : decoded;
}

const MALFORMED = 'invalid authorization header value format';

export function parseBasicCredentials(header: string): BasicCredentials | Denial {
  const parts = header.split(' ');
  if (parts.length !== 2 || parts[0]?.toLowerCase() !== 'basic' || !isBase64(parts[1] ?? '')) {
    return deny('request_malformed', MALFORMED);
  }
  const basic = Buffer.from(parts[1] ?? '', 'base64').toString('utf8');
  const colon = basic.indexOf(':');
  if (colon === -1) return deny('request_malformed', MALFORMED);
  const clientId = decodePart(basic.slice(0, colon));
  const secret = decodePart(basic.slice(colon + 1));
  if (clientId === undefined || secret === undefined) {
    return deny('request_malformed', 'client_id and client_secret in the authorization header are not properly encoded');
  }
  // No client id at all is no client authentication (the missing case's 401, RFC 6749 §5.2).
  if (clientId === '') return deny('client_authentication_missing', 'client authentication is required');
  if (secret === '') return deny('request_malformed', 'client_secret must be provided in the Authorization header');
  return { clientId, secret };
}
