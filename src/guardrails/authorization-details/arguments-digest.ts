/**
 * The digest that binds an approval to the exact call: base64url SHA-256 of the RFC 8785-style canonical JSON
 * of the call's arguments (sorted members, no whitespace, ECMAScript number and string forms). The agent
 * computes it when it asks, the validation SDK computes it again from the call the tool receives.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../attribution/canonical-json.js';

export function argumentsDigest(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args), 'utf8').digest('base64url');
}

/** The SHA-256 digest shape: 43 base64url characters, no padding. */
export const DIGEST_PATTERN = /^[A-Za-z0-9_-]{43}$/u;
