/** The pure budget plan: counters an exchange touches, warnings, the remaining-budget claim. */
import { describe, expect, it } from 'vitest';
import { amountsOf, budgetName, DAY_MS, HOUR_MS, planBudget, remainingClaim, warningsCrossed, type CounterState } from '../../../src/guardrails/budgets/budget-plan.js';
import { evaluate } from '../../../src/guardrails/budgets/budget-store.js';
import type { AgentBudgets } from '../../../src/guardrails/budgets/budget-types.js';

const NOW = Date.UTC(2026, 11, 3, 14, 30);
const budgets: AgentBudgets = {
  overall: { exchangesPerHour: 10 },
  tools: new Map([['payments', { exchangesPerDay: 100, amountMinorPerDay: new Map([['USD', 50_000]]) }]]),
  onExceed: 'refuse',
};

describe('planBudget', () => {
  it('touches the overall and the tool budget, each in its own fixed UTC window', () => {
    const counters = planBudget(budgets, 'payments', new Map([['USD', 1200]]), NOW);
    expect(counters.map((c) => [c.scope, c.metric, c.limit, c.add])).toEqual([
      ['overall', 'exchanges_per_hour', 10, 1],
      ['tool:payments', 'exchanges_per_day', 100, 1],
      ['tool:payments', 'amount_per_day:USD', 50_000, 1200],
    ]);
    expect(counters[0]?.window).toBe(Math.floor(NOW / HOUR_MS));
    expect(counters[0]?.windowEndMs).toBe(Date.UTC(2026, 11, 3, 15));
    expect(counters[1]?.windowEndMs).toBe((Math.floor(NOW / DAY_MS) + 1) * DAY_MS);
  });

  it('gives a currency the budget does not list a limit of zero', () => {
    const counters = planBudget(budgets, 'payments', new Map([['EUR', 1]]), NOW);
    const eur = counters.find((c) => c.metric === 'amount_per_day:EUR');
    expect(eur?.limit).toBe(0);
    expect(evaluate(counters, [0, 0, 0], [0, 0, 0]).ok).toBe(false);
  });

  it('touches nothing for an agent without budgets, and only the overall budget for another tool', () => {
    expect(planBudget(undefined, 'crm', new Map(), NOW)).toEqual([]);
    expect(planBudget(budgets, 'crm', new Map(), NOW).map((c) => c.scope)).toEqual(['overall']);
  });

  it('names budgets by agent and tool', () => {
    expect(budgetName('a', 'overall')).toBe('a');
    expect(budgetName('a', 'tool:payments')).toBe('a/payments');
  });
});

describe('amountsOf', () => {
  const detail = { type: 'payment', action: 'create_payment', argumentsDigest: 'x' };
  it('sums declared amounts per currency', () => {
    expect(amountsOf([{ ...detail, amountMinor: 5, currency: 'USD' }, { ...detail, amountMinor: 7, currency: 'USD' }, detail])).toEqual(new Map([['USD', 12]]));
  });
  it('refuses negative, fractional or currency-less amounts', () => {
    expect(amountsOf([{ ...detail, amountMinor: -5, currency: 'USD' }])).toHaveProperty('invalid');
    expect(amountsOf([{ ...detail, amountMinor: 1.5, currency: 'USD' }])).toHaveProperty('invalid');
    expect(amountsOf([{ ...detail, amountMinor: 5 }])).toHaveProperty('invalid');
  });
});

describe('evaluate, warnings and the claim', () => {
  const [hour, day, usd] = planBudget(budgets, 'payments', new Map([['USD', 1000]]), NOW);
  it('is exceeded exactly when used + add passes limit + raise', () => {
    const counters = [hour!, day!, usd!];
    expect(evaluate(counters, [9, 0, 49_000], [0, 0, 0]).ok).toBe(true);
    const over = evaluate(counters, [10, 0, 0], [0, 0, 0]);
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.exceeded.counter.metric).toBe('exchanges_per_hour');
    expect(evaluate(counters, [10, 0, 0], [1, 0, 0]).ok).toBe(true);
  });

  it('warns once, on the reservation that crosses 80 %', () => {
    const state = (used: number): CounterState => ({ counter: hour!, used, limit: 10 });
    expect(warningsCrossed([state(6)])).toEqual([]);
    expect(warningsCrossed([state(7)])).toHaveLength(1);
    expect(warningsCrossed([state(8)])).toEqual([]);
  });

  it('carries the smallest remaining room after this exchange', () => {
    expect(remainingClaim([{ counter: hour!, used: 3, limit: 10 }, { counter: day!, used: 98, limit: 100 }, { counter: usd!, used: 1000, limit: 50_000 }]))
      .toEqual({ exchanges: 1, amounts: { USD: 48_000 } });
    expect(remainingClaim([])).toBeUndefined();
  });
});
