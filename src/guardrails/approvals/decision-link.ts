/**
 * The approve / reject links in an approval notification (issue 18): a signed, single-use, expiring
 * decision token in the URL. HMAC-SHA256 under a key every replica derives from the shared state's random
 * secret (HKDF, its own label), so a link made at one replica is honoured at another; single use through the
 * shared state's one-time claims. Opening a link (GET) only shows the action: chat clients fetch links to
 * preview them, so only the confirming POST decides.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SharedState } from '../../state/shared-state.js';

export type LinkDecision = 'approve' | 'reject';

export interface DecisionLinkClaims {
  readonly approvalId: string;
  readonly decision: LinkDecision;
  /** Epoch seconds. */
  readonly exp: number;
  readonly nonce: string;
}

export async function decisionLinkKey(state: Pick<SharedState, 'feedKey'>): Promise<Buffer> {
  return Buffer.from(hkdfSync('sha256', await state.feedKey(), Buffer.alloc(0), 'agent-token-broker approval decision links v1', 32));
}

export function signDecisionLink(key: Buffer, claims: Omit<DecisionLinkClaims, 'nonce'>): string {
  const payload = Buffer.from(JSON.stringify({ a: claims.approvalId, d: claims.decision, e: claims.exp, n: randomBytes(16).toString('base64url') })).toString('base64url');
  return `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/**
 * The approval a link names, read WITHOUT checking its signature: only to attach the record of a refused
 * (tampered or expired) link to the approval it claims to be about. Never a basis for deciding anything.
 */
export function claimedApprovalId(token: string): string | undefined {
  if (token.length > 1024) return undefined;
  try {
    const { a } = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { a?: unknown };
    return typeof a === 'string' && /^apr_[A-Za-z0-9_-]{24}$/u.test(a) ? a : undefined;
  } catch {
    return undefined;
  }
}

export function verifyDecisionLink(key: Buffer, token: string, nowMs: number): DecisionLinkClaims | 'invalid' | 'expired' {
  if (token.length > 1024) return 'invalid';
  const [payload, mac, extra] = token.split('.');
  if (payload === undefined || mac === undefined || extra !== undefined) return 'invalid';
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return 'invalid';
  }
  const { a, d, e, n } = (parsed ?? {}) as { a?: unknown; d?: unknown; e?: unknown; n?: unknown };
  if (typeof a !== 'string' || (d !== 'approve' && d !== 'reject') || typeof e !== 'number' || typeof n !== 'string') return 'invalid';
  if (nowMs >= e * 1000) return 'expired';
  return { approvalId: a, decision: d, exp: e, nonce: n };
}
