/**
 * The console's JSON API (`/console/api/*`): what the pages read and the actions they take. Behind a
 * person's session (sign-in), a role per route, and the session's CSRF token on every state change;
 * no admin key ever reaches the browser. Actions go through the same admin actions as the admin API and are
 * recorded with `by: person:<sub>`. The explorer, approvals, connections and guardrails routes are in their own
 * files (explorer-api.ts, approvals-api.ts, connections-api.ts, guardrails-api.ts).
 */
import Router from '@koa/router';
import type { JWK } from 'jose';
import { AdminActionError, type AdminActions, type AgentAction } from '../admin/admin-actions.js';
import type { ChainedRecord } from '../attribution/chain.js';
import type { AgentRegistry } from '../domain/agent.js';
import type { Catalog } from '../domain/catalog.js';
import { renderOAuthError } from '../http/oauth-error.js';
import type { ReloadStatus } from '../reload/reloader.js';
import { refuseUnmatchableRevocation } from '../revocation/revocation-target.js';
import type { SignIn } from '../sign-in/index.js';
import type { SharedState } from '../state/shared-state.js';
import { approvalRoutes, type ConsoleApprovalsDeps } from './approvals-api.js';
import { connectionRoutes, type ConsoleConnectionsDeps } from './connections-api.js';
import { actionContext, consoleErrors, personOf, readJson, reasonOf } from './console-http.js';
import { explorerRoutes } from './explorer-api.js';
import { guardrailRoutes, type ConsoleGuardrailsDeps } from './guardrails-api.js';
import { OVERVIEW_WINDOW_MS, summarise } from './overview.js';
import type { RecordSource } from '../attribution/record-source.js';
import { agentViews, catalogView } from './views.js';

export interface ReadinessCheck { readonly name: string; readonly ok: boolean; readonly detail: string }

export interface ConsoleApiDeps {
  readonly signIn: SignIn;
  readonly actions: AdminActions;
  readonly state: SharedState;
  readonly agents: () => AgentRegistry;
  readonly catalog: () => Catalog;
  /** The attribution log the explorer reads (file chain or Redis streams); absent: the explorer answers 501. */
  readonly records?: RecordSource;
  /** Public keys that may have signed checkpoints. */
  readonly checkpointKeys: () => readonly JWK[];
  readonly readiness: () => Promise<readonly ReadinessCheck[]>;
  readonly now: () => number;
  /** The hot reload's state (reload/reloader.ts): the set in force and the last attempt, shown on the overview. */
  readonly reload?: () => ReloadStatus;
  readonly approvals?: ConsoleApprovalsDeps;
  readonly guardrails?: ConsoleGuardrailsDeps;
  readonly connections?: ConsoleConnectionsDeps;
}

export function consoleApi(deps: ConsoleApiDeps): Router {
  const router = new Router({ prefix: '/console/api' });
  const viewer = deps.signIn.requirePerson('viewer');
  const operator = deps.signIn.requirePerson('operator');

  router.use(consoleErrors);

  /** The last day's records, for the overview and the agents' last activity (nothing without a readable log). */
  async function recent(type?: string): Promise<ChainedRecord[]> {
    const out: ChainedRecord[] = [];
    if (!deps.records) return out;
    for await (const r of deps.records.query({ ...(type ? { type } : {}), from: new Date(deps.now() - OVERVIEW_WINDOW_MS) })) out.push(r);
    return out;
  }

  router.get('/session', viewer, (ctx) => {
    const p = personOf(ctx);
    ctx.body = { sub: p.sub, name: p.name ?? p.sub, email: p.email, roles: p.roles, csrf_token: p.csrf, expires_at: new Date(p.expiresAt).toISOString() };
  });

  router.get('/overview', viewer, async (ctx) => {
    const now = deps.now();
    const { lastActivity: _ignored, ...overview } = summarise(await recent(), now);
    const pending = deps.approvals ? (await deps.approvals.store.list({ status: 'pending', limit: 200, nowMs: now })).filter((a) => a.expiresAtMs > now).length : null;
    ctx.body = { ...overview, explorer: deps.records !== undefined, readiness: await deps.readiness(), reload: deps.reload?.() ?? null, pendingApprovals: pending };
  });

  router.get('/agents', viewer, async (ctx) => {
    ctx.body = { agents: await agentViews(deps.agents(), deps.state, summarise(await recent('token_exchange'), deps.now()).lastActivity) };
  });

  // Before `/agents/:id/:action`: a route that answers does not pass the request on.
  if (deps.guardrails) guardrailRoutes(router, { viewer, operator }, deps.guardrails);

  router.post('/agents/:id/:action', operator, async (ctx) => {
    const { id, action } = ctx.params as { id: string; action: string };
    if (action !== 'suspend' && action !== 'reinstate' && action !== 'revoke') throw new AdminActionError('not_found', 'unknown action');
    const body = await readJson(ctx);
    const override = body.override === true;
    const result = await deps.actions.agent(action satisfies AgentAction, id, { ...actionContext(ctx, reasonOf(body)), override });
    ctx.body = { agent: id, action, ...result };
  });

  router.get('/catalog', viewer, (ctx) => {
    ctx.body = catalogView(deps.catalog(), deps.agents());
  });

  explorerRoutes(router, viewer, deps.records, deps.checkpointKeys);

  router.get('/revocations', viewer, async (ctx) => {
    ctx.body = { revocations: await deps.actions.list() };
  });

  router.post('/revocations', operator, async (ctx) => {
    const body = await readJson(ctx);
    const { kind, value } = body;
    if (kind !== 'user' && kind !== 'tool' && kind !== 'token') throw new AdminActionError('invalid_request', 'kind must be user, tool or token');
    if (typeof value !== 'string' || value === '' || value.length > 512) throw new AdminActionError('invalid_request', 'value is required');
    refuseUnmatchableRevocation(kind, value);
    const revocation = await deps.actions.revoke(kind, value, actionContext(ctx, reasonOf(body)));
    ctx.status = 201;
    ctx.body = { revocation };
  });

  if (deps.approvals) approvalRoutes(router, viewer, deps.approvals);
  if (deps.connections) connectionRoutes(router, viewer, deps.connections);
  router.all('/{*rest}', viewer, (ctx) => {
    renderOAuthError(ctx, { status: 404, error: 'not_found', description: 'no such console API' });
  });

  return router;
}
