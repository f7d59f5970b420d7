/**
 * The console's JSON API (`/console/api/*`): what the pages read and the actions they take. Behind a
 * person's session (sign-in), a role per route, and the session's CSRF token on every state change;
 * no admin key ever reaches the browser. Actions go through the same admin actions as the admin API and are
 * recorded with `by: person:<sub>`.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { JWK } from 'jose';
import { AdminActionError, type AdminActions, type AgentAction } from '../admin/admin-actions.js';
import { publicJwk, type ChainedRecord } from '../attribution/chain.js';
import { chainFiles } from '../attribution/log-files.js';
import { queryChain, type QueryFilter } from '../attribution/query.js';
import { verifyLogFiles } from '../attribution/verify.js';
import type { AgentRegistry } from '../domain/agent.js';
import type { Catalog } from '../domain/catalog.js';
import { renderOAuthError } from '../http/oauth-error.js';
import { requestIdFrom } from '../http/request-id.js';
import { refuseUnmatchableRevocation } from '../revocation/revocation-target.js';
import { actorOf, type PersonSession, type SignIn } from '../sign-in/index.js';
import { StateUnavailableError, type SharedState } from '../state/shared-state.js';
import { LastN, OVERVIEW_WINDOW_MS, reasonMatches, summarise } from './overview.js';
import { agentViews, catalogView } from './views.js';

export interface ReadinessCheck { readonly name: string; readonly ok: boolean; readonly detail: string }

export interface ConsoleApiDeps {
  readonly signIn: SignIn;
  readonly actions: AdminActions;
  readonly state: SharedState;
  readonly agents: () => AgentRegistry;
  readonly catalog: () => Catalog;
  /** The file attribution sink's active log (absent with the Redis sink: the explorer is then unavailable). */
  readonly logFile?: string;
  /** Public keys that may have signed checkpoints. */
  readonly checkpointKeys: () => readonly JWK[];
  readonly readiness: () => Promise<readonly ReadinessCheck[]>;
  readonly now: () => number;
}

const MAX_BODY_BYTES = 16 * 1024;
const FILTER_KEYS = ['agent', 'user', 'tool', 'decision', 'type', 'from', 'to'] as const;

async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new AdminActionError('invalid_request', 'the body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new AdminActionError('payload_too_large', 'the body is too large');
    chunks.push(chunk);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AdminActionError('invalid_request', 'the body must be a JSON object');
}

function reasonOf(body: Record<string, unknown>): string {
  const { reason } = body;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
    throw new AdminActionError('invalid_request', 'a reason (1-500 characters) is required');
  }
  return reason.trim();
}

function filterOf(ctx: Context): { filter: QueryFilter; reason?: string } {
  const filter: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const value = ctx.query[key];
    if (typeof value === 'string' && value !== '') filter[key] = value;
  }
  if (filter.decision !== undefined && filter.decision !== 'granted' && filter.decision !== 'denied') {
    throw new AdminActionError('invalid_request', 'decision is granted or denied');
  }
  for (const key of ['from', 'to'] as const) {
    if (filter[key] !== undefined && Number.isNaN(Date.parse(filter[key]))) throw new AdminActionError('invalid_request', `${key} must be an ISO 8601 time`);
  }
  const reason = typeof ctx.query.reason === 'string' && ctx.query.reason !== '' ? ctx.query.reason : undefined;
  return { filter, ...(reason !== undefined ? { reason } : {}) };
}

function intParam(value: unknown, fallback: number, max: number): number {
  const n = typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}

export function consoleApi(deps: ConsoleApiDeps): Router {
  const router = new Router({ prefix: '/console/api' });
  const viewer = deps.signIn.requirePerson('viewer');
  const operator = deps.signIn.requirePerson('operator');

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const known = err instanceof AdminActionError
        ? err
        : err instanceof StateUnavailableError
          ? new AdminActionError('state_unavailable', 'shared state is unavailable; the action may not have taken effect: repeat it')
          : new AdminActionError('state_unavailable', 'the request could not be completed; retry');
      renderOAuthError(ctx, { status: known.status, error: known.code, description: known.message });
    }
  });

  /** Every record of the chain matching `filter`, oldest first; nothing when no log exists yet. */
  async function* records(filter: QueryFilter): AsyncGenerator<ChainedRecord> {
    if (deps.logFile === undefined) throw new AdminActionError('not_implemented', 'the attribution explorer reads the file attribution sink');
    try {
      yield* queryChain(deps.logFile, filter);
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
    }
  }

  const context = (ctx: Context, reason: string, override = false) => ({
    by: actorOf(ctx.state.person as PersonSession),
    reason,
    override,
    requestId: requestIdFrom(ctx.get('x-request-id') || undefined),
    callerAddress: ctx.ip,
  });

  router.get('/session', viewer, (ctx) => {
    const p = ctx.state.person as PersonSession;
    ctx.body = { sub: p.sub, name: p.name ?? p.sub, email: p.email, roles: p.roles, csrf_token: p.csrf, expires_at: new Date(p.expiresAt).toISOString() };
  });

  router.get('/overview', viewer, async (ctx) => {
    const now = deps.now();
    const recent: ChainedRecord[] = [];
    if (deps.logFile !== undefined) for await (const r of records({ from: new Date(now - OVERVIEW_WINDOW_MS) })) recent.push(r);
    const { lastActivity: _ignored, ...overview } = summarise(recent, now);
    ctx.body = { ...overview, explorer: deps.logFile !== undefined, readiness: await deps.readiness() };
  });

  router.get('/agents', viewer, async (ctx) => {
    const now = deps.now();
    const recent: ChainedRecord[] = [];
    if (deps.logFile !== undefined) for await (const r of records({ type: 'token_exchange', from: new Date(now - OVERVIEW_WINDOW_MS) })) recent.push(r);
    ctx.body = { agents: await agentViews(deps.agents(), deps.state, summarise(recent, now).lastActivity) };
  });

  router.post('/agents/:id/:action', operator, async (ctx) => {
    const { id, action } = ctx.params as { id: string; action: string };
    if (action !== 'suspend' && action !== 'reinstate' && action !== 'revoke') throw new AdminActionError('not_found', 'unknown action');
    const body = await readJson(ctx);
    const override = body.override === true;
    const result = await deps.actions.agent(action satisfies AgentAction, id, context(ctx, reasonOf(body), override));
    ctx.body = { agent: id, action, ...result };
  });

  router.get('/catalog', viewer, (ctx) => {
    ctx.body = catalogView(deps.catalog(), deps.agents());
  });

  router.get('/records', viewer, async (ctx) => {
    const { filter, reason } = filterOf(ctx);
    const last = new LastN<ChainedRecord>(intParam(ctx.query.limit, 100, 1000));
    for await (const r of records(filter)) if (reasonMatches(r, reason)) last.push(r);
    ctx.body = { records: last.newestFirst(), matched: last.count };
  });

  // A live tail: the records after a chain position (the page polls with the last seq it has).
  router.get('/tail', viewer, async (ctx) => {
    const after = typeof ctx.query.after === 'string' && /^\d{1,15}$/u.test(ctx.query.after) ? Number(ctx.query.after) : undefined;
    const last = new LastN<ChainedRecord>(200);
    let head = 0;
    for await (const r of records({})) {
      head = r.seq;
      if (after === undefined || r.seq > after) last.push(r);
    }
    ctx.body = { records: after === undefined ? [] : last.newestFirst(), head };
  });

  router.get('/records/:id', viewer, async (ctx) => {
    const { id } = ctx.params as { id: string };
    let previous: ChainedRecord | undefined;
    let found: ChainedRecord | undefined;
    let next: ChainedRecord | undefined;
    for await (const r of records({})) {
      if (found) {
        next = r;
        break;
      }
      if (r.id === id) found = r;
      else previous = r;
    }
    if (!found) throw new AdminActionError('not_found', 'no record with this id');
    const link = (r: ChainedRecord | undefined) => (r ? { id: r.id, seq: r.seq, hash: r.hash } : null);
    ctx.body = {
      record: found,
      chain: { seq: found.seq, prev: found.prev, hash: found.hash, previous: link(previous), next: link(next), linked: previous === undefined || previous.hash === found.prev },
    };
  });

  router.get('/verify', viewer, async (ctx) => {
    if (deps.logFile === undefined) throw new AdminActionError('not_implemented', 'verification here reads the file attribution sink');
    let files: string[];
    try {
      files = await chainFiles(deps.logFile);
    } catch {
      files = [];
    }
    if (files.length === 0) {
      ctx.body = { ok: true, records: 0, checkpoints: 0, unproven: 0, files: 0 };
      return;
    }
    ctx.body = await verifyLogFiles(files, { keys: deps.checkpointKeys().map(publicJwk) });
  });

  router.get('/export', viewer, async (ctx) => {
    const { filter, reason } = filterOf(ctx);
    const limit = intParam(ctx.query.limit, 100_000, 100_000);
    const lines: string[] = [];
    for await (const r of records(filter)) {
      if (!reasonMatches(r, reason)) continue;
      lines.push(JSON.stringify(r));
      if (lines.length >= limit) break;
    }
    ctx.type = 'application/x-ndjson';
    ctx.set('Content-Disposition', 'attachment; filename="attribution-export.jsonl"');
    ctx.body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  });

  router.get('/revocations', viewer, async (ctx) => {
    ctx.body = { revocations: await deps.actions.list() };
  });

  router.post('/revocations', operator, async (ctx) => {
    const body = await readJson(ctx);
    const { kind, value } = body;
    if (kind !== 'user' && kind !== 'tool' && kind !== 'token') throw new AdminActionError('invalid_request', 'kind must be user, tool or token');
    if (typeof value !== 'string' || value === '' || value.length > 512) throw new AdminActionError('invalid_request', 'value is required');
    refuseUnmatchableRevocation(kind, value);
    const revocation = await deps.actions.revoke(kind, value, context(ctx, reasonOf(body)));
    ctx.status = 201;
    ctx.body = { revocation };
  });

  router.all('/{*rest}', viewer, (ctx) => {
    renderOAuthError(ctx, { status: 404, error: 'not_found', description: 'no such console API' });
  });

  return router;
}
