import { describe, expect, it } from 'vitest';
import { currentTurn, leaveTurn } from '../../src/token-endpoint/loop-turn.js';

describe('leaveTurn', () => {
  it('defers a response completed in the turn its request arrived in to that turn\'s check phase', async () => {
    const order: string[] = [];
    const arrived = currentTurn();
    setImmediate(() => order.push('other work of this turn'));
    await leaveTurn(arrived);
    order.push('response');
    expect(order).toEqual(['other work of this turn', 'response']);
  });

  it('does not defer a response whose request already waited for I/O in an earlier turn', async () => {
    const order: string[] = [];
    const arrived = currentTurn();
    await new Promise((r) => setTimeout(r, 5));
    expect(currentTurn()).toBeGreaterThan(arrived);
    setImmediate(() => order.push('check phase'));
    await leaveTurn(arrived);
    order.push('response');
    expect(order).toEqual(['response']);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['response', 'check phase']);
  });

  it('counts turns only while asked (no timer keeps the loop alive)', async () => {
    const t = currentTurn();
    await new Promise((r) => setImmediate(r));
    const next = currentTurn();
    expect(next).toBe(t + 1);
    expect(currentTurn()).toBe(next);
  });
});
