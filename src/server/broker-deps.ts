/**
 * What a broker is built from (BrokerDeps) and what it hands back (Broker): the composition root's contract
 * (create-broker.ts), kept apart so that the root itself stays a short list of features.
 */
import type { AgentRegistry } from '../domain/agent.js';
import type { BrokerConfig } from '../domain/broker-config.js';
import type { Catalog } from '../domain/catalog.js';
import type { AttributionSink } from '../attribution/sink.js';
import type { SigningKeys } from '../keys/signing-keys.js';
import type { Logger } from '../log.js';
import type { Configuration, Provider } from '../provider/oidc-provider.js';
import type { SharedState } from '../state/shared-state.js';
import type { StatFs } from '../attribution/free-space.js';
import type { ValidatorRoutesDeps } from '../introspection/introspection-routes.js';
import type { RunnerHooks } from '../token-endpoint/pipeline/runner.js';
import type { RequestHandler } from '../token-endpoint/fast-refusal.js';
import type { BrokerMetrics } from '../observability/metrics/broker-metrics.js';
import type { StepObserver } from '../observability/step-observer.js';
import type { Tracing } from '../observability/tracing/tracing.js';
import type { ConfigSet } from '../reload/load-sets.js';
import type { Reloader } from '../reload/reloader.js';
import type { VaultFeature } from '../upstream/vault/vault-feature.js';
import type { SignIn } from '../sign-in/index.js';
import type { OnwardSetup } from '../upstream/onward/onward-deps.js';
import type { BudgetNotifier } from '../guardrails/budgets/budget-notifier.js';
import type { ApprovalOptions, Approvals } from '../guardrails/approvals/create-approvals.js';

export interface BrokerDeps {
  readonly config: BrokerConfig;
  readonly catalog: Catalog;
  readonly agents: AgentRegistry;
  readonly keys: SigningKeys;
  readonly sink: AttributionSink;
  readonly log: Logger;
  readonly now?: () => number;
  readonly adapter?: Configuration['adapter'];
  /** Shared state (suspensions, revocations); defaults to in-memory. */
  readonly state?: SharedState;
  /** Free-space measurement of the attribution disk (tests inject one); default statfs(2). */
  readonly statfs?: StatFs;
  /** Revocation feed caps and per-subscriber bounds (revocation/feed/feed-hub.ts); defaults otherwise. */
  readonly feed?: ValidatorRoutesDeps['feed'];
  /** `/revoke` calls per agent per window (default revocation-guard.ts). */
  readonly revokeRateLimit?: { readonly limit: number; readonly windowMs: number };
  /** Sources refused from memory answered in front of the app (fast-refusal.ts); default on, off to compare in tests. */
  readonly fastRefusal?: boolean;
  /** POST /token answered in front of the app (token-endpoint/fast-path.ts); default on, off to compare in tests. */
  readonly tokenFastPath?: boolean;
  /** This broker's metrics (start-broker.ts passes the one its attribution sink reports to); default a fresh registry. */
  readonly metrics?: BrokerMetrics;
  /** Tracing (observability/tracing/tracing.ts); default off. */
  readonly tracing?: Tracing;
  /** Where a reload reads the new scopes/clients (default: config.catalogDir / clientsDir, reload/load-sets.ts). */
  readonly loadConfigSet?: () => Promise<ConfigSet>;
  /** Issue 18: where budget webhooks go (tests observe them); default an HMAC-signed HTTP POST. */
  readonly budgetNotifier?: BudgetNotifier;
  /** Issue 18: approval settings that are not catalog data (the webhook secret, the polling interval). */
  readonly approvals?: ApprovalOptions;
  /** Per-step timings of the token endpoint's pipeline (metrics, tracing). */
  readonly tokenHooks?: RunnerHooks;
  /** Issue 17: the `vault` connector kind (src/upstream/vault/vault-feature.ts): /connect routes, revocation hooks. */
  readonly vault?: VaultFeature;
  /** The sign-in client secret, read from its reference at start (config.signIn.clientSecret). */
  readonly signInClientSecret?: string;
  /** Issue 17: the vault connector kind and the upstream credential cache (tests inject them). */
  readonly upstream?: Pick<OnwardSetup, 'vault' | 'cache' | 'env'>;
}

export interface Broker {
  readonly app: Provider;
  readonly issuer: string;
  readonly state: SharedState;
  /** Person sign-in, when `sign_in` is configured (the console and `/connect` use it). */
  readonly signIn?: SignIn;
  /** Stops background work (the agent-status mirror's polling); the state itself is the caller's. */
  close(): void;
  /** Writes what is held in memory for the log (the open interval of unauthenticated denials); before the sink closes. */
  drain(): Promise<void>;
  /** The HTTP request handler to serve: the app, behind the fast refusal of sources refused from memory. */
  callback(): RequestHandler;
  /** `/metrics` (Prometheus) of this broker. */
  readonly metrics: BrokerMetrics;
  /** Hot reload of scopes/ and clients/ (SIGHUP, the file watch, POST /admin/config/reload). */
  readonly reloader: Reloader;
  /** Where the token-exchange pipeline reports each step (metrics and, when on, trace spans). */
  readonly steps: StepObserver;
  /** Issue 18: the approval gate and its store. */
  readonly approvals: Approvals;
}
