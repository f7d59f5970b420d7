/**
 * Deciding approvals (issue 18). Two surfaces, one store:
 *  - the admin API (`/admin/approvals`, the existing admin keys; the CLI calls it): list, show, the share of
 *    gated exchanges per tool, and approve / reject. Only an admin key the tool's catalog names in an approver
 *    role may decide (`approval.approvers.roles`); the admin key role (viewer/operator) does not matter.
 *  - the signed links of the notification (`/approvals/decide?token=...`): GET shows the action and a
 *    confirmation form, POST decides; the token is single use across replicas (decision-link.ts).
 * Every decision and every refused decision is an attribution record (who, through which channel, as what).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import { requestIdFrom } from '../../http/request-id.js';
import { renderOAuthError, setNoStore } from '../../http/oauth-error.js';
import type { AdminCaller } from '../../admin/admin-auth.js';
import type { SharedState } from '../../state/shared-state.js';
import type { Approval, ApprovalDecisionMade } from './approval.js';
import { approvalRecord, type ApprovalRecord } from './approval-record.js';
import type { ApprovalStore } from './approval-store.js';
import { approvalView, approverRoleOf, linkApprovers } from './approval-view.js';
import { claimedApprovalId, verifyDecisionLink } from './decision-link.js';
import { decideAndRecord } from './record-decision.js';
import { approvalSummary } from './webhook.js';

export interface ApprovalRoutesDeps {
  readonly store: ApprovalStore;
  readonly authenticate: (authorization: string | undefined, callerAddress: string) => Promise<AdminCaller | undefined>;
  readonly record: (record: ApprovalRecord) => Promise<void>;
  readonly now: () => number;
  readonly linkKey: () => Promise<Buffer>;
  readonly state: Pick<SharedState, 'claimOnce'>;
}

class RouteError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const MAX_BODY_BYTES = 8 * 1024;

async function readBody(ctx: Context): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RouteError(413, 'invalid_request', 'the body is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readReason(ctx: Context): Promise<{ reason?: string; via: string }> {
  const text = await readBody(ctx);
  if (text.trim() === '') return { via: 'admin_api' };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RouteError(400, 'invalid_request', 'the body must be a JSON object');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RouteError(400, 'invalid_request', 'the body must be a JSON object');
  const { reason, via } = body as { reason?: unknown; via?: unknown };
  if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) throw new RouteError(400, 'invalid_request', 'reason must be a string of at most 500 characters');
  return { ...(typeof reason === 'string' && reason.trim() !== '' ? { reason: reason.trim() } : {}), via: via === 'cli' ? 'cli' : 'admin_api' };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/gu, (c) => `&#${String(c.charCodeAt(0))};`);

function page(ctx: Context, status: number, title: string, body: string): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  setNoStore(ctx);
  ctx.set('Content-Security-Policy', "default-src 'none'; form-action 'self'; frame-ancestors 'none'");
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.body = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1>${body}`;
}

export function approvalRouter(deps: ApprovalRoutesDeps): Router {
  const router = new Router();

  const context = (ctx: Context) => ({ nowMs: deps.now(), requestId: requestIdFrom(ctx.get('x-request-id') || undefined), callerAddress: ctx.ip });

  /** Decides once; records the decision or why it was refused. */
  async function decide(ctx: Context, approval: Approval, status: 'approved' | 'rejected', made: ApprovalDecisionMade, reason?: string): Promise<Approval> {
    const result = await decideAndRecord(deps, approval, status, made, context(ctx), reason);
    if (!result.ok) throw new RouteError(409, result.error, result.why);
    return result.approval;
  }

  // ---- admin API ----------------------------------------------------------------------------------------
  const admin = new Router({ prefix: '/admin/approvals' });
  admin.use(async (ctx, next) => {
    setNoStore(ctx);
    try {
      const caller = await deps.authenticate(ctx.get('authorization') || undefined, ctx.ip);
      if (caller === undefined) {
        ctx.set('WWW-Authenticate', 'Bearer realm="admin"');
        throw new RouteError(401, 'invalid_token', 'a valid admin key is required');
      }
      ctx.state.adminId = caller.id;
      await next();
    } catch (err) {
      const known = err instanceof RouteError ? err : new RouteError(503, 'temporarily_unavailable', 'approvals are unavailable right now (shared state or attribution log); the decision may not have taken effect: retry');
      renderOAuthError(ctx, { status: known.status, error: known.code, description: known.message });
    }
  });

  admin.get('/', async (ctx) => {
    const status = typeof ctx.query.status === 'string' ? ctx.query.status : undefined;
    if (status !== undefined && !['pending', 'approved', 'rejected', 'minted'].includes(status)) throw new RouteError(400, 'invalid_request', 'status is pending, approved, rejected or minted');
    const limit = Math.min(Math.max(Number(ctx.query.limit ?? 100) || 100, 1), 1000);
    const nowMs = deps.now();
    const approvals = await deps.store.list({ ...(status ? { status: status as Approval['status'] } : {}), limit, nowMs });
    ctx.body = { approvals: approvals.map((a) => approvalView(a, nowMs)) };
  });

  // The share of exchanges the gate stopped for a person, per tool (issue 18: an approval that fires on
  // everything becomes a rubber stamp, so this number is watched).
  admin.get('/stats', async (ctx) => {
    const stats = await deps.store.stats();
    ctx.body = {
      tools: Object.fromEntries(Object.entries(stats).map(([tool, s]) => [tool, { ...s, gated_share: s.exchanges === 0 ? 0 : Math.round((s.gated / s.exchanges) * 10_000) / 10_000 }])),
    };
  });

  admin.get('/:id', async (ctx) => {
    const approval = await deps.store.get((ctx.params as { id: string }).id);
    if (!approval) throw new RouteError(404, 'not_found', 'no such approval');
    ctx.body = { approval: approvalView(approval, deps.now()) };
  });

  admin.post('/:id/:decision', async (ctx) => {
    const { id, decision } = ctx.params as { id: string; decision: string };
    if (decision !== 'approve' && decision !== 'reject') throw new RouteError(404, 'not_found', 'unknown action: approve or reject');
    const { reason, via } = await readReason(ctx);
    const approval = await deps.store.get(id);
    if (!approval) throw new RouteError(404, 'not_found', 'no such approval');
    const by = String(ctx.state.adminId);
    const role = approverRoleOf(approval, by);
    if (role === undefined) {
      await deps.record(approvalRecord(approval, 'decision_refused', { ...context(ctx), by, via, reason: 'not an approver for this tool' }));
      ctx.set('WWW-Authenticate', 'Bearer realm="admin", error="insufficient_scope"');
      throw new RouteError(403, 'insufficient_scope', 'this admin key holds no approver role for this tool');
    }
    const decided = await decide(ctx, approval, decision === 'approve' ? 'approved' : 'rejected', { by, via, as: `role:${role}`, atMs: deps.now() }, reason);
    ctx.body = { approval: approvalView(decided, deps.now()) };
  });
  router.use(admin.routes());

  // ---- signed links from the notification --------------------------------------------------------------
  const verifyLink = async (token: unknown) => {
    if (typeof token !== 'string') return 'invalid' as const;
    return verifyDecisionLink(await deps.linkKey(), token, deps.now());
  };

  router.get('/approvals/decide', async (ctx) => {
    try {
      const claims = await verifyLink(ctx.query.token);
      if (typeof claims === 'string') { page(ctx, 400, 'Link not valid', `<p>This approval link is ${claims === 'expired' ? 'expired' : 'not valid'}.</p>`); return; }
      const approval = await deps.store.get(claims.approvalId);
      if (!approval) { page(ctx, 404, 'Unknown approval', '<p>No such approval.</p>'); return; }
      const verb = claims.decision === 'approve' ? 'Approve' : 'Reject';
      page(ctx, 200, `${verb} this action?`, `<p>${escapeHtml(approvalSummary(approval))}</p><p>Status: ${escapeHtml(String(approvalView(approval, deps.now()).status))}</p>`
        + `<form method="post" action="/approvals/decide"><input type="hidden" name="token" value="${escapeHtml(String(ctx.query.token))}"><button type="submit">${verb}</button></form>`);
    } catch {
      page(ctx, 503, 'Unavailable', '<p>Approvals are unavailable right now; try again.</p>');
    }
  });

  router.post('/approvals/decide', async (ctx) => {
    try {
      if (!ctx.is('application/x-www-form-urlencoded')) { page(ctx, 400, 'Bad request', '<p>Expected the confirmation form.</p>'); return; }
      const token = new URLSearchParams(await readBody(ctx)).get('token');
      const claims = await verifyLink(token);
      if (typeof claims === 'string') {
        // A decision attempted with a tampered or expired link: nothing is decided, and the attempt is recorded
        // against the approval the link claims to be about (when it names one this broker holds).
        const claimed = token === null ? undefined : claimedApprovalId(token);
        const approval = claimed === undefined ? null : await deps.store.get(claimed);
        if (approval) {
          await deps.record(approvalRecord(approval, 'decision_refused', {
            ...context(ctx), by: 'link', via: 'link', reason: claims === 'expired' ? 'decision link expired' : 'decision link not valid (signature)',
          }));
        }
        page(ctx, 400, 'Link not valid', `<p>This approval link is ${claims === 'expired' ? 'expired' : 'not valid'}.</p>`);
        return;
      }
      const approval = await deps.store.get(claims.approvalId);
      if (!approval) { page(ctx, 404, 'Unknown approval', '<p>No such approval.</p>'); return; }
      const made: ApprovalDecisionMade = { by: 'link', via: 'link', as: linkApprovers(approval), atMs: deps.now() };
      const ttlMs = Math.max(1000, claims.exp * 1000 - deps.now());
      if (!(await deps.state.claimOnce(`approval-link:${claims.nonce}`, ttlMs))) {
        await deps.record(approvalRecord(approval, 'decision_refused', { ...context(ctx), ...made, reason: 'decision link already used' }));
        page(ctx, 409, 'Link already used', '<p>This link has already been used.</p>'); return;
      }
      const decided = await decide(ctx, approval, claims.decision === 'approve' ? 'approved' : 'rejected', made);
      page(ctx, 200, decided.status === 'approved' ? 'Approved' : 'Rejected', `<p>${escapeHtml(approvalSummary(decided))}</p>`);
    } catch (err) {
      if (err instanceof RouteError) { page(ctx, err.status, 'Not decided', `<p>${escapeHtml(err.message)}</p>`); return; }
      page(ctx, 503, 'Unavailable', '<p>Approvals are unavailable right now; the decision may not have taken effect: try again.</p>');
    }
  });

  return router;
}
