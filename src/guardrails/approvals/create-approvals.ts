/**
 * Assembles the approvals feature for one broker replica (issue 18): the store where the shared state is
 * (Redis, else memory), the gate the token exchange runs, the webhook notifier, and the decision routes.
 */
import type { BrokerConfig } from '../../domain/broker-config.js';
import type { Catalog } from '../../domain/catalog.js';
import { DEFAULT_APPROVAL_WEBHOOK_SECRET_ENV } from '../../config/sections/approvals.js';
import type { Logger } from '../../log.js';
import { RedisState } from '../../state/redis-state.js';
import type { SharedState } from '../../state/shared-state.js';
import type { AdminCaller } from '../../admin/admin-auth.js';
import type { ApprovalRecord } from './approval-record.js';
import { approvalRouter } from './approval-routes.js';
import { approvalUseRouter, type ApprovalUseDeps } from './approval-use.js';
import { createApprovalGate, type ApprovalGate } from './approval-step.js';
import { MemoryApprovalStore, type ApprovalStore } from './approval-store.js';
import { decisionLinkKey } from './decision-link.js';
import { RedisApprovalStore } from './redis-approval-store.js';
import { createWebhookNotifier } from './webhook.js';

export interface ApprovalOptions {
  /** HMAC secret for the notification webhook (`BROKER_APPROVAL_WEBHOOK_SECRET`); without it nothing is sent. */
  readonly webhookSecret?: string;
  readonly pollIntervalSeconds?: number;
  readonly webhookTimeoutMs?: number;
  /** broker.yaml `approvals.webhook_url`: where a tool that names no `approval.notify_url` is notified. */
  readonly webhookUrl?: string;
  /** broker.yaml `approvals.default_lifetime`: the lapse of a tool that sets no `approval.expires_in`. */
  readonly defaultLifetimeSeconds?: number;
}

/** The approval options of a broker.yaml `approvals:` section, the secret read from the variable it names. */
export function approvalOptionsFrom(config: BrokerConfig['approvals'], env: Readonly<Record<string, string | undefined>>): ApprovalOptions {
  const secret = env[config?.webhookSecretEnv ?? DEFAULT_APPROVAL_WEBHOOK_SECRET_ENV];
  return {
    ...(secret ? { webhookSecret: secret } : {}),
    ...(config?.pollIntervalSeconds !== undefined ? { pollIntervalSeconds: config.pollIntervalSeconds } : {}),
    ...(config?.webhookTimeoutMs !== undefined ? { webhookTimeoutMs: config.webhookTimeoutMs } : {}),
    ...(config?.webhookUrl !== undefined ? { webhookUrl: config.webhookUrl } : {}),
    ...(config?.defaultLifetimeSeconds !== undefined ? { defaultLifetimeSeconds: config.defaultLifetimeSeconds } : {}),
  };
}

export interface Approvals {
  readonly store: ApprovalStore;
  readonly gate: ApprovalGate;
  routes(authenticate: (authorization: string | undefined, callerAddress: string) => Promise<AdminCaller | undefined>): ReturnType<typeof approvalRouter>;
  /** The tool's use reports (`POST /approvals/<id>/used`), authenticated as introspection is. */
  useRoutes(authenticate: ApprovalUseDeps['authenticate'], verify: ApprovalUseDeps['verify']): ReturnType<typeof approvalUseRouter>;
}

export function createApprovals(deps: {
  readonly state: SharedState;
  readonly catalog: () => Catalog;
  readonly issuer: string;
  readonly now: () => number;
  readonly log: Logger;
  readonly record: (record: ApprovalRecord) => Promise<void>;
  readonly options: ApprovalOptions;
}): Approvals {
  const { state, options } = deps;
  const store: ApprovalStore = state instanceof RedisState ? new RedisApprovalStore(state.redis, state.prefix) : new MemoryApprovalStore(deps.now);
  let key: Promise<Buffer> | undefined;
  const linkKey = (): Promise<Buffer> => {
    key ??= decisionLinkKey(state).catch((err: unknown) => { key = undefined; throw err; });
    return key;
  };
  const notifyUrl = (tool: string) => deps.catalog().tools.get(tool)?.approval?.notifyUrl ?? options.webhookUrl;
  const hasWebhooks = options.webhookUrl !== undefined || [...deps.catalog().tools.values()].some((tool) => tool.approval?.notifyUrl !== undefined);
  if (hasWebhooks && options.webhookSecret === undefined) deps.log.warn('an approval webhook is configured but its HMAC secret is not set (approvals.webhook_secret_env): no approval notifications are sent');
  const notify = options.webhookSecret === undefined ? undefined : createWebhookNotifier({
    secret: options.webhookSecret, issuer: deps.issuer, linkKey, notifyUrl, record: deps.record, now: deps.now,
    ...(options.webhookTimeoutMs !== undefined ? { timeoutMs: options.webhookTimeoutMs } : {}),
  });
  const gate = createApprovalGate({
    store, record: deps.record, now: deps.now,
    ...(notify ? { notify } : {}),
    ...(options.pollIntervalSeconds !== undefined ? { pollIntervalSeconds: options.pollIntervalSeconds } : {}),
    ...(options.defaultLifetimeSeconds !== undefined ? { defaultLifetimeSeconds: options.defaultLifetimeSeconds } : {}),
    onError: (err, what) => { deps.log.warn({ err }, `${what} failed`); },
  });
  return {
    store,
    gate,
    routes: (authenticate) => approvalRouter({ store, authenticate, record: deps.record, now: deps.now, linkKey, state }),
    useRoutes: (authenticate, verify) => approvalUseRouter({ store, authenticate, verify, record: deps.record, now: deps.now }),
  };
}
