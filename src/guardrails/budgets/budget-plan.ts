/**
 * Which budget counters one exchange touches, and what it adds to each (pure). One exchange adds 1 to each
 * exchange counter of the overall budget and of the tool's budget, and the sum of the amounts its
 * `authorization_details` declare, per currency, to each amount counter. Windows are fixed: the UTC hour
 * and the UTC day the request falls in, named by their index since the epoch, so every replica computes
 * the same counter for the same instant.
 */
import type { ActionDetail } from '../../domain/authorization-details.js';
import type { AgentBudgets, BudgetLimits, BudgetMetric, BudgetScope } from './budget-types.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export interface BudgetCounter {
  readonly scope: BudgetScope;
  readonly metric: BudgetMetric;
  /** The window index (hours or days since the epoch): part of the counter's identity. */
  readonly window: number;
  /** When the window ends (epoch ms): the counter may be forgotten after that. */
  readonly windowEndMs: number;
  /** The configured limit (a person's raise for this window is added by the store). */
  readonly limit: number;
  /** What this exchange adds. */
  readonly add: number;
}

/** A counter's identity within one agent's budgets: `<scope>|<metric>|<window>`. */
export function counterId(counter: Pick<BudgetCounter, 'scope' | 'metric' | 'window'>): string {
  return `${counter.scope}|${counter.metric}|${String(counter.window)}`;
}

/** The budget's name in records and notifications: `<agent>` or `<agent>/<tool>`. */
export function budgetName(agent: string, scope: BudgetScope): string {
  return scope === 'overall' ? agent : `${agent}/${scope.slice('tool:'.length)}`;
}

/** Declared amounts per currency; an amount that is not a non-negative safe integer is refused by the caller. */
export function amountsOf(details: readonly ActionDetail[]): Map<string, number> | { readonly invalid: string } {
  const sums = new Map<string, number>();
  for (const detail of details) {
    if (detail.amountMinor === undefined) continue;
    if (!Number.isSafeInteger(detail.amountMinor) || detail.amountMinor < 0) return { invalid: 'a declared amount must be a non-negative whole number of minor units' };
    if (detail.currency === undefined || !/^[A-Z]{3}$/u.test(detail.currency)) return { invalid: 'a declared amount needs an ISO 4217 currency' };
    const sum = (sums.get(detail.currency) ?? 0) + detail.amountMinor;
    if (!Number.isSafeInteger(sum)) return { invalid: 'the declared amounts are too large' };
    sums.set(detail.currency, sum);
  }
  return sums;
}

function countersOf(scope: BudgetScope, limits: BudgetLimits, amounts: ReadonlyMap<string, number>, nowMs: number): BudgetCounter[] {
  const hour = Math.floor(nowMs / HOUR_MS);
  const day = Math.floor(nowMs / DAY_MS);
  const out: BudgetCounter[] = [];
  if (limits.exchangesPerHour !== undefined) {
    out.push({ scope, metric: 'exchanges_per_hour', window: hour, windowEndMs: (hour + 1) * HOUR_MS, limit: limits.exchangesPerHour, add: 1 });
  }
  if (limits.exchangesPerDay !== undefined) {
    out.push({ scope, metric: 'exchanges_per_day', window: day, windowEndMs: (day + 1) * DAY_MS, limit: limits.exchangesPerDay, add: 1 });
  }
  if (limits.amountMinorPerDay !== undefined) {
    for (const [currency, amount] of [...amounts].sort(([a], [b]) => a.localeCompare(b))) {
      // A currency the budget does not list has a limit of zero (fail closed).
      const limit = limits.amountMinorPerDay.get(currency) ?? 0;
      out.push({ scope, metric: `amount_per_day:${currency}`, window: day, windowEndMs: (day + 1) * DAY_MS, limit, add: amount });
    }
  }
  return out;
}

/** The counters an exchange of `agent`'s budgets for `toolId`, declaring `amounts`, touches at `nowMs`. */
export function planBudget(budgets: AgentBudgets | undefined, toolId: string, amounts: ReadonlyMap<string, number>, nowMs: number): BudgetCounter[] {
  if (!budgets) return [];
  const toolLimits = budgets.tools.get(toolId);
  return [
    ...(budgets.overall ? countersOf('overall', budgets.overall, amounts, nowMs) : []),
    ...(toolLimits ? countersOf(`tool:${toolId}`, toolLimits, amounts, nowMs) : []),
  ];
}

/** One counter as the store found it: `used` before this exchange, `limit` including a person's raise. */
export interface CounterState {
  readonly counter: BudgetCounter;
  readonly used: number;
  readonly limit: number;
}

export type ReserveResult =
  /** Reserved: every counter had room and now includes this exchange. */
  | { readonly ok: true; readonly counters: readonly CounterState[] }
  /** Nothing reserved: `exceeded` is the first counter without room. */
  | { readonly ok: false; readonly counters: readonly CounterState[]; readonly exceeded: CounterState };

/** Share of a limit at which a warning record is written (issue 18: "near a budget, e.g. 80 %"). */
export const WARNING_SHARE = 0.8;

/**
 * Counters this reservation carried across the warning threshold. Reservations are atomic, so for each
 * counter and window exactly one exchange crosses it: one warning, with no coordination between replicas.
 */
export function warningsCrossed(states: readonly CounterState[], share = WARNING_SHARE): CounterState[] {
  return states.filter(({ counter, used, limit }) => {
    const threshold = limit * share;
    return limit > 0 && used < threshold && used + counter.add >= threshold;
  });
}

/** What remains for this tool after the reservation: the smallest room over every budget that applies. */
export interface BudgetClaim {
  /** Exchanges left in the tightest exchange window, when an exchange limit applies. */
  readonly exchanges?: number;
  /** Currency -> minor units left today, when an amount limit applies. */
  readonly amounts?: Readonly<Record<string, number>>;
}

export function remainingClaim(states: readonly CounterState[]): BudgetClaim | undefined {
  let exchanges: number | undefined;
  const amounts: Record<string, number> = {};
  for (const { counter, used, limit } of states) {
    const left = Math.max(0, limit - used - counter.add);
    if (counter.metric === 'exchanges_per_hour' || counter.metric === 'exchanges_per_day') {
      exchanges = exchanges === undefined ? left : Math.min(exchanges, left);
    } else {
      const currency = counter.metric.slice('amount_per_day:'.length);
      amounts[currency] = Math.min(amounts[currency] ?? left, left);
    }
  }
  if (exchanges === undefined && Object.keys(amounts).length === 0) return undefined;
  return { ...(exchanges !== undefined ? { exchanges } : {}), ...(Object.keys(amounts).length > 0 ? { amounts } : {}) };
}
