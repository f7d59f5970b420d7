/**
 * Tells an agent's owner that a budget is near or spent: a JSON POST to the webhook the agent file names,
 * signed with HMAC-SHA256 over `<timestamp>.<body>` (header `Broker-Signature: t=<unix seconds>,v1=<hex>`),
 * so the receiver can check it came from the broker and is fresh. The secret is read from the environment
 * variable the file names, never from a file. Delivery is best effort with a bounded wait: a slow or
 * failing receiver never holds up an exchange; every failure is logged (never the secret).
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '../../log.js';
import type { BudgetNotify } from './budget-types.js';

export interface BudgetEvent {
  readonly type: 'budget.warning' | 'budget.exceeded';
  readonly agent: string;
  readonly owner: string;
  readonly budget: string;
  readonly metric: string;
  readonly limit: number;
  readonly used: number;
  /** ISO 8601: when the window ends (the counter starts again). */
  readonly window_ends_at: string;
  readonly suspended: boolean;
  readonly time: string;
}

export type BudgetNotifier = (notify: BudgetNotify, event: BudgetEvent) => Promise<void>;

export const SIGNATURE_HEADER = 'broker-signature';

export function signBody(secret: string, timestamp: number, body: string): string {
  return `t=${String(timestamp)},v1=${createHmac('sha256', secret).update(`${String(timestamp)}.${body}`).digest('hex')}`;
}

export function createWebhookNotifier(opts: { readonly env: Readonly<Record<string, string | undefined>>; readonly log: Logger; readonly timeoutMs?: number; readonly now?: () => number }): BudgetNotifier {
  const now = opts.now ?? Date.now;
  return async (notify, event) => {
    const secret = opts.env[notify.secretEnv];
    if (secret === undefined || secret === '') {
      opts.log.error({ agent: event.agent, secret_env: notify.secretEnv }, 'budget webhook not sent: its secret environment variable is not set');
      return;
    }
    const body = JSON.stringify(event);
    const timestamp = Math.floor(now() / 1000);
    try {
      const res = await fetch(notify.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signBody(secret, timestamp, body) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(opts.timeoutMs ?? 3000),
      });
      if (!res.ok) opts.log.warn({ agent: event.agent, status: res.status, type: event.type }, 'budget webhook refused');
    } catch (err) {
      opts.log.warn({ agent: event.agent, type: event.type, err: err instanceof Error ? err.message : String(err) }, 'budget webhook failed');
    }
  };
}
