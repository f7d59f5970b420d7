/** The admin API's check that a revocation can ever match (called from admin-routes.ts before acting). */
import { AdminActionError } from '../admin/admin-actions.js';
import type { RevocationKind } from '../state/shared-state.js';
import { unmatchableRevocation } from './rules.js';

/** Throws a 400 invalid_request naming why, for a revocation that could never match a broker token. */
export function refuseUnmatchableRevocation(kind: RevocationKind, value: string): void {
  const why = unmatchableRevocation(kind, value);
  if (why !== undefined) throw new AdminActionError('invalid_request', `this revocation could never match a token: ${why}`);
}
