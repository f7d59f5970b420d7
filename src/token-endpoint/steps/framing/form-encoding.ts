/**
 * RFC 6749 Appendix B: the token request's names and values are UTF-8 after percent-decoding. Decoders in
 * the stack (Node's querystring, which oidc-provider uses, and URLSearchParams) silently replace an invalid
 * sequence with U+FFFD, so two different byte strings would parse into the same parameter and the broker
 * would decide on a value the client never sent: a parser differential. The raw body is checked here,
 * before oidc-provider parses it, over the whole body.
 *
 * Checking the whole body at once is the same as checking each name and value: the separators (`&`, `=`)
 * are ASCII bytes, which can neither continue nor complete a multi-byte sequence, so a sequence cut at a
 * separator is invalid in both views, and an escaped separator (`%26`) is part of a value in both.
 */
import { isAscii } from 'node:buffer';
import { deny, type Denial } from '../../../exchange/reasons.js';

const PERCENT = 0x25;
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The value of an ASCII hex digit, or -1. */
function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * True when the body is ASCII and no escape decodes to a byte >= 0x80: then it is valid UTF-8 without
 * decoding anything. Token requests (base64url tokens, percent-encoded URIs) almost always are.
 */
function plainAscii(body: Uint8Array): boolean {
  // Natively (isAscii, indexOf) rather than a loop over every byte: this runs on every token request.
  if (!isAscii(body)) return false;
  for (let i = body.indexOf(PERCENT); i >= 0; i = body.indexOf(PERCENT, i + 1)) {
    if (hexValue(body[i + 1]) >= 8 && hexValue(body[i + 2]) >= 0) return false;
  }
  return true;
}

/**
 * The body's bytes with every `%XX` escape decoded. A `%` not followed by two hex digits stays as it is,
 * as querystring leaves it (`+` is a space: ASCII either way).
 */
function percentDecode(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length);
  let n = 0;
  for (let i = 0; i < body.length; i += 1) {
    const byte = body[i] ?? 0;
    const high = byte === PERCENT ? hexValue(body[i + 1]) : -1;
    const low = high >= 0 ? hexValue(body[i + 2]) : -1;
    if (low >= 0) {
      out[n] = high * 16 + low;
      i += 2;
    } else {
      out[n] = byte;
    }
    n += 1;
  }
  return out.subarray(0, n);
}

/** Whether a form body is valid UTF-8 after percent-decoding, anywhere in it. */
export function isUtf8FormBody(body: Uint8Array): boolean {
  if (plainAscii(body)) return true;
  try {
    fatalUtf8.decode(percentDecode(body));
    return true;
  } catch {
    return false;
  }
}

/** The framing rejection for a body that is not UTF-8 after percent-decoding, or null. */
export function checkFormEncoding(body: Uint8Array): { readonly status: number; readonly denial: Denial } | null {
  if (isUtf8FormBody(body)) return null;
  return { status: 400, denial: deny('request_malformed', 'the form body is not valid UTF-8 after percent-decoding (RFC 6749 Appendix B)') };
}
