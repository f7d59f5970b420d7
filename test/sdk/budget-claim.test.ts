/** The validation SDK's reading of the `budget` claim (issue 18). */
import { describe, expect, it } from 'vitest';
import { budgetOf, fitsBudget } from '../../src/sdk/validator/index.js';

describe('budgetOf', () => {
  it('reads what remains, and nothing when the token carries no budget', () => {
    expect(budgetOf({ claims: { budget: { exchanges: 3, amounts: { EUR: 1200 } } } })).toEqual({ exchanges: 3, amounts: { EUR: 1200 } });
    expect(budgetOf({ claims: {} })).toBeUndefined();
  });
  it('refuses a malformed claim instead of reading it as unlimited', () => {
    for (const budget of ['lots', [], { exchanges: -1 }, { exchanges: 1.5 }, { amounts: { eur: 1 } }, { amounts: { EUR: '1' } }]) {
      expect(() => budgetOf({ claims: { budget } })).toThrow(TypeError);
    }
  });
  it('fitsBudget compares a further cost with what is left in that currency', () => {
    const token = { claims: { budget: { amounts: { EUR: 500 } } } };
    expect(fitsBudget(token, 500, 'EUR')).toBe(true);
    expect(fitsBudget(token, 501, 'EUR')).toBe(false);
    expect(fitsBudget(token, 10_000, 'USD')).toBe(true);
  });
});
