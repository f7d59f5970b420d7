/**
 * The `budget` claim of a broker token (issue 18): what remains of the agent's budgets for this tool after
 * the exchange that minted it, so the tool can enforce per-call cost too. Absent when no budget applies.
 *   budget: { exchanges?: <exchanges left in the tightest window>, amounts?: { "<ISO 4217>": <minor units left today> } }
 * A malformed claim is reported as such, never read as "unlimited".
 */
import type { ValidatedToken } from './token-validator.js';

export interface TokenBudget {
  /** Exchanges the agent has left in its tightest exchange window, when an exchange limit applies. */
  readonly exchanges?: number;
  /** Currency -> minor units the agent may still declare today, when an amount limit applies. */
  readonly amounts?: Readonly<Record<string, number>>;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The token's remaining budget; undefined when it carries none; throws TypeError when the claim is malformed. */
export function budgetOf(token: Pick<ValidatedToken, 'claims'>): TokenBudget | undefined {
  const claim = token.claims.budget;
  if (claim === undefined) return undefined;
  if (typeof claim !== 'object' || claim === null || Array.isArray(claim)) throw new TypeError('budget claim is not an object');
  const { exchanges, amounts } = claim as { exchanges?: unknown; amounts?: unknown };
  if (exchanges !== undefined && !isCount(exchanges)) throw new TypeError('budget.exchanges is not a non-negative integer');
  if (amounts !== undefined) {
    if (typeof amounts !== 'object' || amounts === null || Array.isArray(amounts)) throw new TypeError('budget.amounts is not an object');
    for (const [currency, left] of Object.entries(amounts)) {
      if (!/^[A-Z]{3}$/u.test(currency) || !isCount(left)) throw new TypeError('budget.amounts holds a bad entry');
    }
  }
  return { ...(exchanges !== undefined ? { exchanges } : {}), ...(amounts !== undefined ? { amounts: amounts as Record<string, number> } : {}) };
}

/**
 * Whether a further cost of `amountMinor` in `currency`, beyond the action this token was minted for (whose
 * declared amount is already counted), fits what the token says is left. Without an amount limit for that
 * currency the token imposes none here (the broker refused what its budgets forbid).
 */
export function fitsBudget(token: Pick<ValidatedToken, 'claims'>, amountMinor: number, currency: string): boolean {
  const left = budgetOf(token)?.amounts?.[currency];
  return left === undefined || amountMinor <= left;
}
