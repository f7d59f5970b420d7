/**
 * What resource servers call: introspection (RFC 7662) and the revocation feed, behind validator keys (or
 * admin keys); failed authentications aggregated in the failure ledger (issue 14 items 3, 5).
 */
import type { JWTPayload } from 'jose';
import type { FailureLedger } from '../../auth/failure-ledger.js';
import { createValidatorAuthenticator } from '../../auth/validator-authenticator.js';
import { createValidatorRoutes } from '../../introspection/introspection-routes.js';
import type { Approvals } from '../../guardrails/approvals/create-approvals.js';
import type { Provider } from '../../provider/oidc-provider.js';
import type { WiringContext } from './context.js';

export function mountValidators(provider: Provider, { deps, config, now, state }: WiringContext, parts: {
  readonly failures: FailureLedger;
  readonly verifyBrokerToken: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly approvals: Approvals;
}) {
  const validatorAuthenticator = createValidatorAuthenticator({
    validatorKeys: config.validatorKeys,
    adminKeys: config.adminKeys,
    issuer: config.issuer,
    introspectionEndpoint: `${config.issuer}/introspect`,
    state,
    clockSkewSeconds: config.clockSkewSeconds,
    onFailure: (reason, address, id) => { parts.failures.failed('validator', address, reason, id); },
    now,
  });
  const feed = deps.feed ?? config.revocationFeed ? { feed: { ...config.revocationFeed, ...deps.feed } } : {};
  const validators = createValidatorRoutes({ state, verify: parts.verifyBrokerToken, authenticate: validatorAuthenticator, now, ...feed });
  provider.use(validators.router.routes());
  // Issue 18: the tool's reports of an approved token's use, behind the same validator keys.
  provider.use(parts.approvals.useRoutes(validatorAuthenticator, parts.verifyBrokerToken).routes());
  return validators;
}
