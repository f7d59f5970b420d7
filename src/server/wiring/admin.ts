/**
 * The admin surface: the admin actions (suspend, reinstate, revoke) with what they trigger (fresh kill-switch
 * windows on reinstatement, the vault's connections deleted on revocation), the kill switch, and the routes
 * behind the admin keys (admin API, /metrics, config reload, the vault's and the approvals' admin routes).
 */
import { createAdminActions, type AdminActions } from '../../admin/admin-actions.js';
import { createAdminAuthenticator } from '../../admin/admin-auth.js';
import { adminRouter } from '../../admin/admin-routes.js';
import { recordSourceFor } from '../../attribution/record-source.js';
import type { FailureLedger } from '../../auth/failure-ledger.js';
import type { Approvals } from '../../guardrails/approvals/create-approvals.js';
import { createKillSwitch } from '../../kill-switch/kill-switch.js';
import { resetWindowsOnReinstate, windowEpochsFor } from '../../kill-switch/window-epochs.js';
import { metricsRoute } from '../../observability/metrics/metrics-route.js';
import type { Provider } from '../../provider/oidc-provider.js';
import { loadConfigSet } from '../../reload/load-sets.js';
import { reloadRoutes } from '../../reload/reload-routes.js';
import { Reloader } from '../../reload/reloader.js';
import type { WiringContext } from './context.js';

export type AdminAuthenticate = ReturnType<typeof createAdminAuthenticator>;

export function createActions({ deps, config, log, now, state, live, metrics }: WiringContext) {
  const adminActions = createAdminActions({
    state,
    agents: live.agents,
    catalog: live.catalog,
    record: (record) => deps.sink.append(record),
    now,
    clockSkewSeconds: config.clockSkewSeconds,
  });
  // A reinstatement starts fresh kill-switch windows for the agent (kill-switch/window-epochs.ts).
  const epochs = config.killSwitch ? windowEpochsFor(state) : undefined;
  const windowActions = epochs ? resetWindowsOnReinstate(adminActions, epochs) : adminActions;
  // Issue 17: revoking a user or an agent also deletes their SaaS connections (src/upstream/vault/vault-revocation.ts).
  const actions: AdminActions = deps.vault ? deps.vault.withRevocations(windowActions) : windowActions;
  const observe = config.killSwitch
    ? createKillSwitch({ config: config.killSwitch, state, actions, epochs: epochs ?? windowEpochsFor(state), log, now, onTrip: (trigger) => { metrics.killSwitchTripped(trigger); } })
    : undefined;
  return { actions, observe };
}

/** Failed admin authentications: one aggregated record per source and minute (issue 14 items 3, 5). */
export function createAdminAuthenticate({ config }: WiringContext, failures: FailureLedger): AdminAuthenticate {
  return createAdminAuthenticator(config.adminKeys, (reason, address, id) => { failures.failed('admin', address, reason, id); });
}

export function mountAdmin(provider: Provider, ctx: WiringContext, parts: {
  readonly actions: AdminActions;
  readonly adminAuthenticate: AdminAuthenticate;
  readonly approvals: Approvals;
}) {
  const { deps, config, log, now, live, metrics } = ctx;
  const { actions, adminAuthenticate } = parts;
  const auditSource = recordSourceFor(config, ctx.state);
  const admin = adminRouter({
    actions,
    // Issue 19: the file chain or the Redis sink's streams (src/attribution/record-source.ts).
    ...(auditSource ? { audit: auditSource } : {}),
    authenticate: adminAuthenticate,
  });
  const reloader = new Reloader({
    live, log, metrics, now, record: (record) => deps.sink.append(record),
    load: deps.loadConfigSet ?? (() => loadConfigSet(config, process.cwd())),
  });
  provider.use(metricsRoute(metrics, adminAuthenticate));
  provider.use(reloadRoutes(reloader, adminAuthenticate));
  provider.use(admin.routes());
  if (deps.vault) {
    // Issue 17: the consent flow (/connect/...) and the vault's re-encryption (POST /admin/vault/reencrypt).
    provider.use(deps.vault.routes());
    provider.use(deps.vault.adminRoutes(adminAuthenticate));
  }
  provider.use(parts.approvals.routes(adminAuthenticate).routes());
  return { reloader };
}
