/**
 * Wires person sign-in and the console into a broker app (called from create-broker.ts when `sign_in` is
 * configured): the session store where the shared state lives, the readiness checks the overview shows.
 */
import type { FreeSpaceMonitor } from '../attribution/free-space.js';
import type { AttributionRecord } from '../attribution/record.js';
import type { AdminActions } from '../admin/admin-actions.js';
import { createGuardrailActions } from '../guardrails/admin/guardrail-actions.js';
import type { ApprovalStore } from '../guardrails/approvals/approval-store.js';
import type { BudgetStore } from '../guardrails/budgets/budget-store.js';
import type { StageStore } from '../guardrails/stages/stage-store.js';
import type { ReloadStatus } from '../reload/reloader.js';
import type { Vault } from '../upstream/vault/vault.js';
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import type { Catalog } from '../domain/catalog.js';
import type { SigningKeys } from '../keys/signing-keys.js';
import type { Logger } from '../log.js';
import type { Provider } from '../provider/oidc-provider.js';
import { actorOf, createSignIn, MemorySessionStore, RedisSessionStore, type RoleRefusal, type SignIn } from '../sign-in/index.js';
import { adminRecord } from '../admin/admin-record.js';
import { requestIdFrom } from '../http/request-id.js';
import type { SignInSettings } from '../sign-in/sign-in-config.js';
import type { AgentStatusView } from '../state/agent-status.js';
import { RedisState } from '../state/redis-state.js';
import type { SharedState } from '../state/shared-state.js';
import type { TrustedIssuers } from '../subject-token/issuer-keys.js';
import type { ReadinessCheck } from './console-api.js';
import { consoleRoutes } from './console-routes.js';
import { recordSourceFor } from '../attribution/record-source.js';

/** The features the console shows and acts on, where the broker has them (create-broker.ts passes its own). */
export interface ConsoleFeatures {
  readonly reloader?: { status(): ReloadStatus };
  readonly approvals?: { readonly store: ApprovalStore };
  readonly guardrails?: { readonly budgets: BudgetStore; readonly stages: StageStore };
  readonly vault?: { readonly vault: Vault };
  /** The attribution sink: approval decisions and refusals are recorded here. */
  readonly record: (record: AttributionRecord) => Promise<void>;
}

export interface MountDeps {
  readonly config: BrokerConfig;
  readonly settings: SignInSettings;
  readonly clientSecret?: string;
  readonly state: SharedState;
  readonly actions: AdminActions;
  readonly log: Logger;
  readonly now: () => number;
  readonly issuers: TrustedIssuers;
  readonly agentStatus: AgentStatusView;
  readonly disk: FreeSpaceMonitor | undefined;
  readonly agents: () => AgentRegistry;
  readonly catalog: () => Catalog;
  readonly keys: SigningKeys;
  readonly features?: ConsoleFeatures;
}

const CHECK_TIMEOUT_MS = 2000;

async function bounded(name: string, check: () => Promise<string>): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error('no answer within 2 s')); }, CHECK_TIMEOUT_MS); });
  try {
    return { name, ok: true, detail: await Promise.race([check(), timeout]) };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : 'failed' };
  } finally {
    clearTimeout(timer);
  }
}

export function mountSignInAndConsole(app: Provider, deps: MountDeps): SignIn {
  const { config, state } = deps;
  const signIn = createSignIn({
    baseUrl: config.issuer,
    provider: { issuer: deps.settings.issuer, clientId: deps.settings.clientId, ...(deps.clientSecret !== undefined ? { clientSecret: deps.clientSecret } : {}) },
    rolesClaim: deps.settings.rolesClaim,
    sessionSeconds: deps.settings.sessionSeconds,
    ...(deps.settings.idleSeconds !== undefined ? { idleSeconds: deps.settings.idleSeconds } : {}),
    // Sessions live where the shared state does: with Redis, any replica knows every session.
    store: state instanceof RedisState ? new RedisSessionStore(state.redis, state.prefix) : new MemorySessionStore(deps.now),
    log: deps.log,
    defaultReturnTo: '/console/',
    now: deps.now,
    // A person's refused state change is a denied admin action in the log, like the API's refusals.
    ...(deps.features ? { onRoleRefused: recordRoleRefusal(deps.features.record, deps.now) } : {}),
  });
  const readiness = (): Promise<ReadinessCheck[]> => Promise.all([
    bounded(`shared state (${state.kind})`, async () => {
      await state.ping();
      await deps.agentStatus.confirm();
      return 'reachable; agent statuses current';
    }),
    ...config.trustedIssuers.map((t) => bounded(`issuer ${t.issuer}`, async () => {
      const keys = deps.issuers.get(t.issuer);
      if (!keys) throw new Error('not configured');
      await keys.resolver();
      return 'keys location known';
    })),
    bounded(`attribution sink (${config.attribution.sink ?? 'file'})`, async () => {
      if (config.attribution.sink === 'redis') {
        await state.ping();
        return 'redis reachable';
      }
      const disk = await deps.disk?.check();
      if (disk && !disk.ok) throw new Error(disk.reason ?? 'low on disk space');
      return 'writable';
    }),
  ]);
  app.use(signIn.routes());
  const f = deps.features;
  const records = recordSourceFor(config, state);
  const reloader = f?.reloader;
  for (const middleware of consoleRoutes({
    signIn, actions: deps.actions, state, agents: deps.agents, catalog: deps.catalog, now: deps.now, readiness,
    ...(records ? { records } : {}),
    checkpointKeys: () => deps.keys.all.map((k) => k.privateJwk),
    ...(reloader ? { reload: () => reloader.status() } : {}),
    ...(f?.approvals ? { approvals: { store: f.approvals.store, record: f.record, now: deps.now } } : {}),
    ...(f?.guardrails ? {
      guardrails: {
        agents: deps.agents, stages: f.guardrails.stages,
        // The same actions as the guardrail admin API (guardrail-routes.ts), over the same stores.
        actions: createGuardrailActions({ agents: deps.agents, budgets: f.guardrails.budgets, stages: f.guardrails.stages, record: f.record, now: deps.now }),
      },
    } : {}),
    ...(f ? { connections: { ...(f.vault ? { vault: f.vault.vault } : {}), record: f.record, now: deps.now } } : {}),
  })) app.use(middleware);
  return signIn;
}

function recordRoleRefusal(record: ConsoleFeatures['record'], now: () => number) {
  return (r: RoleRefusal): Promise<void> => record(adminRecord({
    nowMs: now(), action: `console.${r.method.toLowerCase()}`, by: actorOf(r.session), reason: `needs the ${r.role} role`,
    decision: 'denied', request_id: requestIdFrom(r.requestId), caller: { address: r.callerAddress },
    target: { kind: 'console_path', value: r.path },
  }));
}
