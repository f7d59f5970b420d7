/**
 * Approvals in the console (issue 18's approval gate, decided by a person): the pending requests with who,
 * what and how long they wait; the decided ones with who decided when; the share of gated exchanges per
 * tool. Deciding needs the console `approver` role, the session's CSRF token and a reason; it goes through
 * the approval store's one atomic decision (approval-store.ts `decide`), the same as the admin API and the
 * signed links, and is recorded with `by: person:<sub>`, `via: console`. A refused decision (no approver
 * role, already decided, lapsed) is recorded too (`decision_refused`), as the admin API does.
 */
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Approval, ApprovalDecisionMade } from '../guardrails/approvals/approval.js';
import { approvalRecord, type ApprovalRecord } from '../guardrails/approvals/approval-record.js';
import type { ApprovalStore } from '../guardrails/approvals/approval-store.js';
import { approvalView } from '../guardrails/approvals/approval-view.js';
import { decideAndRecord } from '../guardrails/approvals/record-decision.js';
import { hasRole } from '../sign-in/index.js';
import { actionContext, ConsoleError, personOf, readJson, reasonOf } from './console-http.js';

export interface ConsoleApprovalsDeps {
  readonly store: ApprovalStore;
  readonly record: (record: ApprovalRecord) => Promise<void>;
  readonly now: () => number;
}

/** What a row of the approvals page shows, beyond the admin API's view: the actions in brief and the time left. */
export function consoleApprovalView(approval: Approval, nowMs: number): Record<string, unknown> {
  return {
    ...approvalView(approval, nowMs),
    actions: approval.details.map((detail) => ({
      type: String(detail.type),
      action: Array.isArray(detail.actions) ? String(detail.actions[0]) : '',
      arguments_sha256: String(detail.arguments_sha256),
      fields: Object.fromEntries(Object.entries(detail).filter(([name]) => !['type', 'actions', 'locations', 'arguments_sha256'].includes(name)).map(([k, v]) => [k, String(v)])),
    })),
    seconds_left: Math.max(0, Math.floor((approval.expiresAtMs - nowMs) / 1000)),
  };
}

const LIST_LIMIT = 200;

export function approvalRoutes(router: Router, viewer: Middleware, deps: ConsoleApprovalsDeps): void {
  const refused = async (ctx: Context, approval: Approval, made: ApprovalDecisionMade, why: string): Promise<void> => {
    const { requestId, callerAddress } = actionContext(ctx, why);
    await deps.record(approvalRecord(approval, 'decision_refused', { nowMs: deps.now(), requestId, callerAddress, by: made.by, via: made.via, as: made.as, reason: why }));
  };

  router.get('/approvals', viewer, async (ctx) => {
    const nowMs = deps.now();
    const [all, stats] = await Promise.all([deps.store.list({ limit: LIST_LIMIT, nowMs }), deps.store.stats()]);
    const views = all.map((a) => consoleApprovalView(a, nowMs));
    ctx.body = {
      pending: views.filter((v) => v.status === 'pending'),
      decided: views.filter((v) => v.status !== 'pending'),
      tools: Object.entries(stats).map(([tool, s]) => ({ tool, exchanges: s.exchanges, gated: s.gated, gated_share: s.exchanges === 0 ? 0 : s.gated / s.exchanges })),
    };
  });

  router.post('/approvals/:id/:decision', viewer, async (ctx) => {
    const { id, decision } = ctx.params as { id: string; decision: string };
    if (decision !== 'approve' && decision !== 'reject') throw new ConsoleError(404, 'not_found', 'unknown action: approve or reject');
    const reason = reasonOf(await readJson(ctx));
    const approval = await deps.store.get(id);
    if (!approval) throw new ConsoleError(404, 'not_found', 'no such approval');
    const person = personOf(ctx);
    const made: ApprovalDecisionMade = { by: actionContext(ctx, reason).by, via: 'console', as: 'console:approver', atMs: deps.now() };
    if (!hasRole(person.roles, 'approver')) {
      await refused(ctx, approval, { ...made, as: person.roles.join('+') }, 'the approver role is required');
      throw new ConsoleError(403, 'insufficient_scope', 'deciding approvals needs the approver role');
    }
    const { requestId, callerAddress } = actionContext(ctx, reason);
    const result = await decideAndRecord(deps, approval, decision === 'approve' ? 'approved' : 'rejected', made, { nowMs: deps.now(), requestId, callerAddress }, reason);
    if (!result.ok) throw new ConsoleError(409, result.error, result.why);
    ctx.body = { approval: consoleApprovalView(result.approval, deps.now()) };
  });
}
