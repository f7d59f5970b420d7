/**
 * Budgets an agent file declares (issue 18 §2): per agent overall and per agent and tool, limits on the
 * number of exchanges per hour and per day, and on the sum of declared amounts (RFC 9396
 * `authorization_details`, in minor units) per currency per day. Plain data; windows are fixed UTC
 * hours and UTC days, so every replica agrees on which window a request falls in without talking.
 */

export interface BudgetLimits {
  readonly exchangesPerHour?: number;
  readonly exchangesPerDay?: number;
  /**
   * ISO 4217 code -> the most that may be declared per UTC day, in minor units. When this map is present,
   * an amount in a currency it does not list has a limit of zero: an agent cannot slip past a budget by
   * switching currency.
   */
  readonly amountMinorPerDay?: ReadonlyMap<string, number>;
}

/** The owner's webhook: HMAC-SHA256-signed JSON; the secret comes from the named environment variable. */
export interface BudgetNotify {
  readonly webhook: string;
  readonly secretEnv: string;
}

export interface AgentBudgets {
  /** Counts every exchange of the agent, whatever the tool. */
  readonly overall?: BudgetLimits;
  /** Tool id -> limits on this agent's exchanges for that tool. */
  readonly tools: ReadonlyMap<string, BudgetLimits>;
  /** `suspend`: over a budget, the agent is also suspended (a person reinstates it). */
  readonly onExceed: 'refuse' | 'suspend';
  readonly notify?: BudgetNotify;
}

/** The metrics a counter measures, as they appear in records, the admin API and the `budget` claim. */
export type BudgetMetric = 'exchanges_per_hour' | 'exchanges_per_day' | `amount_per_day:${string}`;

/** Which budget of the agent: `overall`, or `tool:<id>`. */
export type BudgetScope = 'overall' | `tool:${string}`;
