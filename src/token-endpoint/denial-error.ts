/** A Denial as the oidc-provider error its central error handler renders (RFC 6749 §5.2 JSON, no stack). */
import { errors } from '../provider/oidc-provider.js';
import { denialStatus, type Denial, type OAuthErrorCode } from '../exchange/reasons.js';

const STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  temporarily_unavailable: 503,
  server_error: 500,
};

export function denialError(denial: Denial): errors.OIDCProviderError {
  const err = new errors.CustomOIDCProviderError(denial.error, denial.description);
  // Rate limits answer 429 (RFC 6585) with the registered temporarily_unavailable code; issue 18's budget
  // and stage refusals 403 (reasons.ts REASON_STATUS).
  const status = denial.reason === 'rate_limited' ? 429 : (denialStatus(denial.reason) === 403 ? 403 : (STATUS[denial.error] ?? 400));
  err.status = status;
  err.statusCode = status;
  // 5xx errors are hidden by default; ours carry a safe, deliberate description.
  err.expose = true;
  return err;
}
