import { describe, expect, it } from 'vitest';
import { medianInterval, medianOf, quantile } from '../../bench/stats.js';

const ranks = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('bench statistics', () => {
  it('medianOf takes the middle value, or the mean of the middle two', () => {
    expect(medianOf([1, 2, 9])).toBe(2);
    expect(medianOf([1, 2, 4, 9])).toBe(3);
    expect(medianOf([])).toBeNaN();
  });

  it('quantile interpolates between ranks', () => {
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
    expect(quantile([10, 20], 0.5)).toBe(15);
    expect(quantile([7], 0.9)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('medianInterval picks the binomial ranks of a 95 % interval (tabulated values)', () => {
    // Ranks from the binomial distribution: n = 6 → (1, 6), n = 10 → (2, 9), n = 30 → (10, 21), n = 100 → (40, 61).
    expect(medianInterval(ranks(5))).toBeUndefined();
    expect(medianInterval(ranks(6))).toEqual([1, 6]);
    expect(medianInterval(ranks(10))).toEqual([2, 9]);
    expect(medianInterval(ranks(30))).toEqual([10, 21]);
    expect(medianInterval(ranks(100))).toEqual([40, 61]);
  });

  it('medianInterval covers the true median at least 95 % of the time', () => {
    // Deterministic pseudo-random draws from a skewed distribution whose median is known (exponential: ln 2).
    let seed = 12345; // mulberry32
    const uniform = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
    };
    let covered = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t += 1) {
      const sample = Array.from({ length: 30 }, () => -Math.log(uniform())).sort((a, b) => a - b);
      const ci = medianInterval(sample);
      if (ci && ci[0] <= Math.LN2 && Math.LN2 <= ci[1]) covered += 1;
    }
    expect(covered / trials).toBeGreaterThanOrEqual(0.94);
    expect(covered / trials).toBeLessThan(0.995); // not a trivially wide interval
  });
});
