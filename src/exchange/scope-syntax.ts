/**
 * The `scope` parameter grammar (RFC 6749 §3.3): scope-tokens of %x21 / %x23-5B / %x5D-7E separated by
 * single spaces. Tabs, non-breaking spaces, double or edge spaces and non-ASCII look-alikes never match.
 */
import { deny, type Denial } from './reasons.js';

const SCOPE_GRAMMAR = /^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/u;

/** Splits a non-empty `scope` value into distinct scopes in first-seen order. */
export function parseScopeParameter(value: string, maxScopes: number): string[] | Denial {
  if (!SCOPE_GRAMMAR.test(value)) return deny('scope_syntax', 'scope does not match the RFC 6749 scope syntax');
  const distinct = [...new Set(value.split(' '))];
  if (distinct.length > maxScopes) return deny('scope_too_many', `at most ${maxScopes} scopes may be requested`);
  return distinct;
}
