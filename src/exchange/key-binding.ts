/**
 * Proof of possession for the tokens an agent presents (RFC 7800 `cnf`, RFC 9449 §6). A token bound to a
 * key is only usable by whoever holds that key, so the broker exchanges it only when the request's DPoP
 * proof was made with the same key; the token it mints is then bound to that key as well (the proof's
 * thumbprint becomes its `cnf.jkt`). A binding the broker cannot check (mTLS, a raw `jwk`) is refused,
 * never ignored: ignoring it would turn a stolen bound token into a usable one.
 */
import type { Confirmation } from '../domain/exchange.js';
import { deny, type Denial, type DenialReason } from './reasons.js';

/** The `cnf` claim as the broker understands it; undefined when the token is not bound. */
export function readConfirmation(cnf: unknown): Confirmation | undefined {
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return { unsupported: 'malformed' };
  const members = Object.keys(cnf);
  const jkt = (cnf as { jkt?: unknown }).jkt;
  if (members.length === 1 && typeof jkt === 'string' && jkt.length > 0) return { jkt };
  // Several methods at once must all hold; the broker can only check jkt, so any other member refuses.
  return { unsupported: members.filter((m) => m !== 'jkt').sort().join(',').slice(0, 64) || 'malformed' };
}

const REASONS = {
  subject: { unsupported: 'subject_token_binding_unsupported', mismatch: 'subject_token_key_mismatch' },
  actor: { unsupported: 'actor_token_invalid', mismatch: 'actor_token_key_mismatch' },
} as const satisfies Record<string, Record<'unsupported' | 'mismatch', DenialReason>>;

/** One presented token's binding against the request's proof key. */
function checkOne(role: keyof typeof REASONS, confirmation: Confirmation | undefined, proofJkt: string | undefined): Denial | null {
  if (confirmation === undefined) return null;
  const what = `${role}_token`;
  if ('unsupported' in confirmation) {
    return deny(REASONS[role].unsupported, `${what} is bound to a key by a method the broker cannot verify (only cnf.jkt is supported)`);
  }
  if (proofJkt === undefined) return deny(REASONS[role].mismatch, `${what} is DPoP-bound: send a DPoP proof made with its key`);
  if (confirmation.jkt !== proofJkt) return deny(REASONS[role].mismatch, `the DPoP proof was not made with the key the ${what} is bound to`);
  return null;
}

/** Each bound token must be bound to the key that made this request's DPoP proof (`proofJkt`). */
export function checkKeyBinding(
  subject: Confirmation | undefined,
  actor: Confirmation | undefined,
  proofJkt: string | undefined,
): Denial | null {
  return checkOne('subject', subject, proofJkt) ?? checkOne('actor', actor, proofJkt);
}
