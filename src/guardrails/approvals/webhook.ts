/**
 * The approval notification (issue 18): a Slack-compatible JSON payload (`text` plus `blocks` with approve /
 * reject buttons; the structured request under `approval`) POSTed to the tool's `approval.notify_url`,
 * signed so the receiver can check it came from this broker and is fresh:
 *   X-Broker-Timestamp: <unix seconds>
 *   X-Broker-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + body)>
 * (the receiver recomputes it over the raw body and refuses timestamps more than 5 minutes away).
 * The approvers see the user, the agent, the tool, the action, its typed fields and the arguments' digest.
 */
import { createHmac } from 'node:crypto';
import type { Approval } from './approval.js';
import { approvalRecord, type ApprovalRecord } from './approval-record.js';
import { signDecisionLink } from './decision-link.js';
import { describeTrigger } from './describe-approval.js';

export function signWebhook(secret: string, body: string, timestampSeconds: number): string {
  return `v1=${createHmac('sha256', secret).update(`v1:${String(timestampSeconds)}:${body}`).digest('hex')}`;
}

export function approvalSummary(approval: Approval): string {
  const actions = approval.details.map((detail) => {
    const fields = Object.entries(detail)
      .filter(([name]) => !['type', 'actions', 'locations', 'arguments_sha256'].includes(name))
      .map(([name, value]) => `${name}=${String(value)}`).join(', ');
    const action = Array.isArray(detail.actions) ? String(detail.actions[0]) : '';
    return `${action} (${String(detail.type)}${fields ? `: ${fields}` : ''}; arguments sha256 ${String(detail.arguments_sha256)})`;
  });
  const { binding } = approval;
  return `Agent ${binding.agent} asks to act for ${binding.user.sub} on ${binding.tool}: ${actions.join('; ') || binding.scopes.join(' ')}. `
    + `Why: ${approval.triggers.map(describeTrigger).join('; ')}.`;
}

export function approvalPayload(approval: Approval, links: { readonly approve: string; readonly reject: string }): Record<string, unknown> {
  const text = approvalSummary(approval);
  const roles = Object.keys(approval.approvers.roles);
  const who = [...(approval.approvers.user ? [`the user (${approval.binding.user.sub})`] : []), ...roles.map((role) => `role ${role}`)].join(' or ');
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Approval ${approval.id} - may decide: ${who} - lapses ${new Date(approval.expiresAtMs).toISOString()}` }] },
      {
        type: 'actions',
        elements: [
          { type: 'button', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', url: links.approve, action_id: 'approve' },
          { type: 'button', text: { type: 'plain_text', text: 'Reject' }, style: 'danger', url: links.reject, action_id: 'reject' },
        ],
      },
    ],
    approval: {
      id: approval.id,
      agent: approval.binding.agent,
      user: approval.binding.user,
      tool: approval.binding.tool,
      scopes: approval.binding.scopes,
      authorization_details: approval.details,
      details_sha256: approval.binding.detailsDigest,
      triggers: approval.triggers,
      expires_at: new Date(approval.expiresAtMs).toISOString(),
    },
  };
}

export interface WebhookNotifierDeps {
  /** The HMAC secret shared with the receiver. */
  readonly secret: string;
  /** Where the decision links point: `<issuer>/approvals/decide`. */
  readonly issuer: string;
  readonly linkKey: () => Promise<Buffer>;
  /** The tool's `approval.notify_url`, if it has one. */
  readonly notifyUrl: (tool: string) => string | undefined;
  readonly record: (record: ApprovalRecord) => Promise<void>;
  readonly now: () => number;
  readonly timeoutMs?: number;
}

/** Sends one notification and records `notified` or `notify_failed` (the request stays open either way). */
export function createWebhookNotifier(deps: WebhookNotifierDeps) {
  return async function notify(approval: Approval, context: { readonly requestId: string }): Promise<void> {
    const url = deps.notifyUrl(approval.binding.tool);
    if (url === undefined) return;
    const key = await deps.linkKey();
    const exp = Math.floor(approval.expiresAtMs / 1000);
    const link = (decision: 'approve' | 'reject') => `${deps.issuer}/approvals/decide?token=${signDecisionLink(key, { approvalId: approval.id, decision, exp })}`;
    const body = JSON.stringify(approvalPayload(approval, { approve: link('approve'), reject: link('reject') }));
    const timestamp = Math.floor(deps.now() / 1000);
    let failure: string | undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        redirect: 'error',
        headers: { 'content-type': 'application/json', 'x-broker-timestamp': String(timestamp), 'x-broker-signature': signWebhook(deps.secret, body, timestamp) },
        body,
        signal: AbortSignal.timeout(deps.timeoutMs ?? 5000),
      });
      await response.body?.cancel();
      if (!response.ok) failure = `the webhook answered ${String(response.status)}`;
    } catch (err) {
      failure = `the webhook could not be reached (${err instanceof Error ? err.name : 'error'})`;
    }
    const common = { nowMs: deps.now(), requestId: context.requestId, callerAddress: 'broker' };
    await deps.record(approvalRecord(approval, failure === undefined ? 'notified' : 'notify_failed', { ...common, via: 'webhook', ...(failure !== undefined ? { reason: failure } : {}) }));
  };
}
