/**
 * `/revoke` (RFC 7009): agents revoke their own broker tokens (src/revocation/revocation-endpoint.ts).
 */
import type { AdminActions } from '../../admin/admin-actions.js';
import type { ExchangeRecord } from '../../attribution/record.js';
import type { JWTPayload } from 'jose';
import { ROUTES } from '../../provider/build-provider.js';
import type { Provider } from '../../provider/oidc-provider.js';
import { revocationEndpoint } from '../../revocation/revocation-endpoint.js';
import type { AgentStatusView } from '../../state/agent-status.js';
import type { WiringContext } from './context.js';

export function mountRevocation(provider: Provider, { deps, config, log, now, state }: WiringContext, parts: {
  readonly verifyBrokerToken: (token: string, nowMs: number) => Promise<JWTPayload | undefined>;
  readonly actions: AdminActions;
  readonly agentStatus: AgentStatusView;
  readonly observe: ((record: ExchangeRecord) => void) | undefined;
}): void {
  const { verifyBrokerToken, actions, agentStatus, observe } = parts;
  const rateLimit = deps.revokeRateLimit ?? config.revokeRateLimit;
  provider.use(revocationEndpoint({
    path: ROUTES.revocation, verify: verifyBrokerToken, actions, log, now, state, agentStatus,
    record: (record) => deps.sink.append(record), ...(observe ? { observe } : {}),
    ...(rateLimit ? { rateLimit } : {}),
  }));
}
