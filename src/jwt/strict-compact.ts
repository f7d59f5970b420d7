/**
 * The strict pre-parser every JWT entry point runs before jose sees a token (subject and actor tokens,
 * client assertions, DPoP proofs, the validation SDK's access tokens, introspected tokens). jose decodes
 * leniently (its base64url decoding goes through atob, which skips whitespace and accepts `=` padding) and
 * JSON.parse keeps the last of two equal member names; a parser differential on a security token is an
 * attack surface, so this refuses everything RFC 7515 does not define exactly:
 *   - RFC 7515 §7.1 compact serialisation: three base64url segments separated by `.`; five (a JWE,
 *     RFC 7516 §7.1) is recognised and refused, since no entry point accepts encrypted tokens;
 *   - RFC 7515 §2 base64url: only `A-Z a-z 0-9 - _`, no padding, no whitespace or line breaks, no length
 *     that no byte string encodes (length mod 4 = 1), and no unused bits set in the last character (one
 *     string per byte string: a token has exactly one spelling, so one fingerprint);
 *   - RFC 8259 §8.1 UTF-8 and the exact RFC 8259 grammar for header and claims set, each a JSON object;
 *   - duplicate member names at any depth (RFC 7515 §4, RFC 7519 §4), nesting deeper than 32;
 *   - `iat` later than now + the clock skew (RFC 7519 §4.1.6: the time the token was issued cannot lie in
 *     the future), whether or not the entry point also bounds a token's age.
 * Pure: a string and a clock in, parsed facts or a typed refusal with a stable problem code out.
 */
import { scanJson, type JsonProblem } from './json-scan.js';

export const MAX_JSON_DEPTH = 32;
/** An upper bound for any entry point; each one applies its own, smaller, limit as well. */
export const MAX_COMPACT_CHARS = 65_536;

export type StrictJwtProblem =
  | 'too_large'
  | 'segments'
  | 'encrypted'
  | 'base64url'
  | 'utf8'
  | 'json'
  | 'not_object'
  | 'duplicate_member'
  | 'too_deep'
  | 'iat_in_future';

export type JwtPart = 'token' | 'header' | 'payload' | 'signature';

export interface StrictJws {
  readonly ok: true;
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** `BASE64URL(header) . BASE64URL(payload)`: the JWS Signing Input (RFC 7515 §5.1 step 6). */
  readonly signingInput: string;
  readonly signature: string;
}

export interface StrictRefusal {
  readonly ok: false;
  readonly problem: StrictJwtProblem;
  readonly part: JwtPart;
  /** ASCII, safe to return to a caller: it never quotes the token. */
  readonly description: string;
}

export interface StrictJwtOptions {
  readonly nowMs: number;
  readonly clockSkewSeconds: number;
  readonly maxChars?: number;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/u;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const DESCRIPTIONS: Record<StrictJwtProblem, string> = {
  too_large: 'is too large',
  segments: 'is not a compact JWS (three base64url segments separated by dots, RFC 7515 section 7.1)',
  encrypted: 'is an encrypted JWT (JWE); a signed JWT is required',
  base64url: 'is not strict base64url (no padding, whitespace or characters outside the alphabet, RFC 7515 section 2)',
  utf8: 'is not valid UTF-8',
  json: 'is not valid JSON (RFC 8259)',
  not_object: 'is not a JSON object',
  duplicate_member: 'has a duplicate member name (RFC 7515 section 4)',
  too_deep: `nests JSON deeper than ${MAX_JSON_DEPTH} levels`,
  iat_in_future: 'has an iat in the future',
};

function refuse(problem: StrictJwtProblem, part: JwtPart): StrictRefusal {
  const where = part === 'token' ? '' : ` (${part})`;
  return { ok: false, problem, part, description: `${DESCRIPTIONS[problem]}${where}` };
}

/** The value (0-63) of a base64url character already known to be in the alphabet. */
function sextet(c: number): number {
  if (c >= 0x61) return c - 0x61 + 26;
  if (c >= 0x41) return c - 0x41;
  if (c >= 0x30) return c - 0x30 + 52;
  return c === 0x2d ? 62 : 63;
}

/** RFC 7515 §2 / RFC 4648 §5 without padding, canonical (RFC 4648 §3.5: pad bits are zero). */
export function isStrictBase64url(segment: string): boolean {
  if (!BASE64URL.test(segment)) return false;
  const rest = segment.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const last = sextet(segment.charCodeAt(segment.length - 1));
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

type Decoded = { readonly ok: true; readonly value: Record<string, unknown> } | StrictRefusal;

function decodeObject(segment: string, part: 'header' | 'payload'): Decoded {
  if (segment.length === 0 || !isStrictBase64url(segment)) return refuse('base64url', part);
  let text: string;
  try {
    text = utf8.decode(Buffer.from(segment, 'base64url'));
  } catch {
    return refuse('utf8', part);
  }
  const scanned = scanJson(text, MAX_JSON_DEPTH);
  if (!scanned.ok) return refuse(jsonProblem(scanned.problem), part);
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse('not_object', part);
  return { ok: true, value: value as Record<string, unknown> };
}

function jsonProblem(problem: JsonProblem): StrictJwtProblem {
  return problem === 'syntax' ? 'json' : problem;
}

/** Splits at every `.`; undefined when there are more than five segments (never a JOSE object). */
function split(token: string): string[] | undefined {
  const segments: string[] = [];
  let start = 0;
  for (;;) {
    const dot = token.indexOf('.', start);
    if (dot < 0) break;
    if (segments.length === 4) return undefined;
    segments.push(token.slice(start, dot));
    start = dot + 1;
  }
  segments.push(token.slice(start));
  return segments;
}

export function parseStrictJwt(token: string, opts: StrictJwtOptions): StrictJws | StrictRefusal {
  if (token.length > (opts.maxChars ?? MAX_COMPACT_CHARS)) return refuse('too_large', 'token');
  const segments = split(token);
  if (segments === undefined || (segments.length !== 3 && segments.length !== 5)) return refuse('segments', 'token');
  if (segments.length === 5) {
    return segments.every((s) => isStrictBase64url(s)) ? refuse('encrypted', 'token') : refuse('base64url', 'token');
  }
  const [h, p, s] = segments as [string, string, string];
  if (!isStrictBase64url(s)) return refuse('base64url', 'signature');
  const header = decodeObject(h, 'header');
  if (!header.ok) return header;
  const payload = decodeObject(p, 'payload');
  if (!payload.ok) return payload;
  const { iat } = payload.value;
  if (typeof iat === 'number' && iat > opts.nowMs / 1000 + opts.clockSkewSeconds) return refuse('iat_in_future', 'payload');
  return { ok: true, header: header.value, payload: payload.value, signingInput: `${h}.${p}`, signature: s };
}
