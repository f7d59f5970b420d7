/**
 * The identity providers the broker trusts (subject-token/issuer-keys.ts) and the verifier of incoming user
 * tokens (RFC 8693 §2.1 `subject_token`), with the bounds on what an issuer may send.
 */
import { TrustedIssuers } from '../../subject-token/issuer-keys.js';
import { createIncomingTokenVerifier } from '../../subject-token/verify-incoming-token.js';
import type { WiringContext } from './context.js';

export function wireIssuers({ config, log }: WiringContext) {
  const issuers = new TrustedIssuers(config.trustedIssuers, {
    timeoutMs: config.upstreamTimeoutMs,
    log,
    bounds: { ...(config.upstreamMaxBytes !== undefined ? { maxBytes: config.upstreamMaxBytes } : {}), ...(config.upstreamMaxKeys !== undefined ? { maxKeys: config.upstreamMaxKeys } : {}) },
  });
  const verifier = createIncomingTokenVerifier(issuers, {
    clockSkewSeconds: config.clockSkewSeconds,
    ...(config.verifiedTokenCacheEntries !== undefined ? { verifiedTokenCacheEntries: config.verifiedTokenCacheEntries } : {}),
  });
  return { issuers, verifier };
}
