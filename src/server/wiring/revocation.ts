/**
 * `/revoke` (RFC 7009): agents revoke their own broker tokens (src/revocation/revocation-endpoint.ts),
 * authenticated by the token endpoint's own steps with the same values (the agents in force, the shared
 * secret checker and replay cache), failed authentications counted in the failure ledger.
 */
import type { JWTPayload } from 'jose';
import type { AdminActions } from '../../admin/admin-actions.js';
import type { ExchangeRecord } from '../../attribution/record.js';
import type { AgentSecretChecker } from '../../auth/agent-secret-guard.js';
import type { FailureLedger } from '../../auth/failure-ledger.js';
import { providerReplayCache } from '../../provider/assertion-replay.js';
import { ROUTES } from '../../provider/build-provider.js';
import type { Provider } from '../../provider/oidc-provider.js';
import { revocationEndpoint } from '../../revocation/revocation-endpoint.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { WiringContext } from './context.js';

export function mountRevocation(provider: Provider, { deps, config, log, now, state, live }: WiringContext, parts: {
  readonly verifyBrokerToken: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly actions: AdminActions;
  readonly agentStatus: AgentStatusView;
  readonly observe: ((record: ExchangeRecord) => void) | undefined;
  readonly secretChecker: AgentSecretChecker;
  readonly failures: FailureLedger;
}): void {
  const { verifyBrokerToken, actions, agentStatus, observe, secretChecker, failures } = parts;
  const rateLimit = deps.revokeRateLimit ?? config.revokeRateLimit;
  provider.use(revocationEndpoint({
    path: ROUTES.revocation, verify: verifyBrokerToken, actions, log, now, state, agentStatus,
    record: (record) => deps.sink.append(record), ...(observe ? { observe } : {}),
    ...(rateLimit ? { rateLimit } : {}),
    client: {
      maxBodyBytes: config.limits.maxBodyBytes,
      agents: live.agents, secrets: secretChecker, assertionReplay: providerReplayCache(provider),
      issuer: config.issuer, tokenEndpoint: `${config.issuer}${ROUTES.token}`, endpoint: `${config.issuer}${ROUTES.revocation}`, clockSkewSeconds: config.clockSkewSeconds, now,
    },
    onAuthFailure: (reason, address, id) => { failures.failed('revoke', address, reason, id); },
  }));
}
