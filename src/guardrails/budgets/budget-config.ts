/**
 * The `budgets` section of an agent file (`clients/<agent>.yaml`), validated field by field:
 *
 *   budgets:
 *     overall: { exchanges_per_hour: 500 }
 *     tools:
 *       payments: { exchanges_per_hour: 100, amount_minor_per_day: { USD: 50000 } }
 *     on_exceed: suspend            # or refuse (default)
 *     notify: { webhook: https://hooks.example.com/budget, secret_env: BUDGET_WEBHOOK_SECRET }
 *
 * Amounts are integers in the currency's minor units (cents), as `authorization_details` declares them.
 */
import { z } from 'zod';
import type { AgentBudgets, BudgetLimits } from './budget-types.js';
import { mappingOf, toolIdProblem } from '../../config/validate.js';

const count = z.number().int({ error: 'must be a whole number' }).min(1).max(1_000_000_000);
const amount = z.number().int({ error: 'must be a whole number of minor units (e.g. cents)' }).min(0).max(Number.MAX_SAFE_INTEGER);
const CURRENCY = /^[A-Z]{3}$/u;
const currencyProblem = (key: string): string | undefined => (CURRENCY.test(key) ? undefined : 'must be an ISO 4217 code in upper case, e.g. USD');

const limitsSchema = z.strictObject({
  exchanges_per_hour: count.optional(),
  exchanges_per_day: count.optional(),
  amount_minor_per_day: mappingOf(currencyProblem, amount).optional(),
}).refine((l) => l.exchanges_per_hour !== undefined || l.exchanges_per_day !== undefined || l.amount_minor_per_day !== undefined, {
  error: 'must set at least one of exchanges_per_hour, exchanges_per_day, amount_minor_per_day',
});

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/u;

const notifySchema = z.strictObject({
  webhook: z.string().refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1'));
    } catch {
      return false;
    }
  }, { error: 'must be an https URL (plain http only to localhost)' }),
  secret_env: z.string().regex(ENV_NAME, { error: 'must name an environment variable (A-Z, 0-9, _) holding the HMAC secret; the secret itself never goes in a file' }),
});

export const budgetsSchema = z.strictObject({
  overall: limitsSchema.optional(),
  tools: mappingOf(toolIdProblem, limitsSchema).optional(),
  on_exceed: z.enum(['refuse', 'suspend']).default('refuse'),
  notify: notifySchema.optional(),
});

export type ParsedBudgets = z.output<typeof budgetsSchema>;

function toLimits(parsed: z.output<typeof limitsSchema>): BudgetLimits {
  return {
    ...(parsed.exchanges_per_hour !== undefined ? { exchangesPerHour: parsed.exchanges_per_hour } : {}),
    ...(parsed.exchanges_per_day !== undefined ? { exchangesPerDay: parsed.exchanges_per_day } : {}),
    ...(parsed.amount_minor_per_day !== undefined ? { amountMinorPerDay: new Map(Object.entries(parsed.amount_minor_per_day)) } : {}),
  };
}

export function toAgentBudgets(parsed: ParsedBudgets): AgentBudgets {
  return {
    ...(parsed.overall ? { overall: toLimits(parsed.overall) } : {}),
    tools: new Map(Object.entries(parsed.tools ?? {}).map(([tool, limits]) => [tool, toLimits(limits)])),
    onExceed: parsed.on_exceed,
    ...(parsed.notify ? { notify: { webhook: parsed.notify.webhook, secretEnv: parsed.notify.secret_env } } : {}),
  };
}
