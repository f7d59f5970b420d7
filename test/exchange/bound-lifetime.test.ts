import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundLifetime, type LifetimeBounds } from '../../src/exchange/bound-lifetime.js';
import { isDenial } from '../../src/exchange/reasons.js';

const NOW = 1_750_000_000;
const base: LifetimeBounds = {
  nowSeconds: NOW,
  toolMaxTtlSeconds: 600,
  agentMaxTtlSeconds: 900,
  subjectExpSeconds: NOW + 3600,
  windowEndMs: null,
};

describe('boundLifetime', () => {
  it('is bounded by the tool max TTL', () => {
    expect(boundLifetime(base)).toEqual({ exp: NOW + 600, boundBy: 'tool_max_ttl' });
  });

  it('is bounded by the agent max TTL', () => {
    expect(boundLifetime({ ...base, agentMaxTtlSeconds: 300 })).toEqual({ exp: NOW + 300, boundBy: 'agent_max_ttl' });
  });

  it('is bounded by the subject token exp', () => {
    expect(boundLifetime({ ...base, subjectExpSeconds: NOW + 42 })).toEqual({
      exp: NOW + 42,
      boundBy: 'subject_token_exp',
    });
  });

  it('is bounded by the end of the time window, rounded down to whole seconds', () => {
    expect(boundLifetime({ ...base, windowEndMs: (NOW + 120) * 1000 + 999 })).toEqual({
      exp: NOW + 120,
      boundBy: 'time_window_end',
    });
  });

  it('breaks ties in the order tool, agent, subject, window', () => {
    const tied = { ...base, agentMaxTtlSeconds: 600, subjectExpSeconds: NOW + 600, windowEndMs: (NOW + 600) * 1000 };
    expect(boundLifetime(tied)).toEqual({ exp: NOW + 600, boundBy: 'tool_max_ttl' });
    expect(boundLifetime({ ...tied, toolMaxTtlSeconds: 700 })).toEqual({ exp: NOW + 600, boundBy: 'agent_max_ttl' });
    expect(boundLifetime({ ...tied, toolMaxTtlSeconds: 700, agentMaxTtlSeconds: 700 })).toEqual({
      exp: NOW + 600,
      boundBy: 'subject_token_exp',
    });
  });

  it.each([
    ['a subject token expiring now', { subjectExpSeconds: NOW }],
    ['an expired subject token', { subjectExpSeconds: NOW - 10 }],
    ['a window ending within the current second', { windowEndMs: NOW * 1000 + 999 }],
    ['a window that has already ended', { windowEndMs: (NOW - 1) * 1000 }],
    ['a zero tool TTL', { toolMaxTtlSeconds: 0 }],
    ['a negative agent TTL', { agentMaxTtlSeconds: -5 }],
    ['a fractional TTL under a second', { toolMaxTtlSeconds: 0.9 }],
    ['a non-finite subject exp', { subjectExpSeconds: Number.NaN }],
    ['an infinite tool TTL', { toolMaxTtlSeconds: Number.POSITIVE_INFINITY }],
    ['a non-finite clock', { nowSeconds: Number.NaN }],
  ] as const)('leaves no lifetime for %s', (_name, overrides) => {
    const result = boundLifetime({ ...base, ...overrides });
    expect(isDenial(result) && result.reason).toBe('lifetime_empty');
  });

  it('produces whole seconds from fractional inputs', () => {
    const result = boundLifetime({ ...base, nowSeconds: NOW + 0.7, subjectExpSeconds: NOW + 30.9 });
    expect(result).toEqual({ exp: NOW + 30, boundBy: 'subject_token_exp' });
  });
});

describe('boundLifetime: properties', () => {
  const bounds = fc.record({
    nowSeconds: fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
    toolMaxTtlSeconds: fc.integer({ min: 0, max: 86_400 }),
    agentMaxTtlSeconds: fc.integer({ min: 0, max: 86_400 }),
    subjectExpOffset: fc.integer({ min: -3600, max: 86_400 }),
    windowEndOffsetMs: fc.option(fc.integer({ min: -3_600_000, max: 86_400_000 }), { nil: null }),
  });

  it('never exceeds any bound, and a lifetime is either positive or refused', () => {
    fc.assert(
      fc.property(bounds, (b) => {
        const input: LifetimeBounds = {
          nowSeconds: b.nowSeconds,
          toolMaxTtlSeconds: b.toolMaxTtlSeconds,
          agentMaxTtlSeconds: b.agentMaxTtlSeconds,
          subjectExpSeconds: b.nowSeconds + b.subjectExpOffset,
          windowEndMs: b.windowEndOffsetMs === null ? null : b.nowSeconds * 1000 + b.windowEndOffsetMs,
        };
        const limits = {
          tool_max_ttl: input.nowSeconds + input.toolMaxTtlSeconds,
          agent_max_ttl: input.nowSeconds + input.agentMaxTtlSeconds,
          subject_token_exp: input.subjectExpSeconds,
          time_window_end: input.windowEndMs === null ? Infinity : Math.floor(input.windowEndMs / 1000),
        };
        const smallest = Math.min(...Object.values(limits));
        const result = boundLifetime(input);
        if (isDenial(result)) {
          expect(result.reason).toBe('lifetime_empty');
          expect(smallest).toBeLessThanOrEqual(input.nowSeconds);
          return;
        }
        expect(Number.isInteger(result.exp)).toBe(true);
        expect(result.exp).toBeGreaterThan(input.nowSeconds);
        for (const limit of Object.values(limits)) expect(result.exp).toBeLessThanOrEqual(limit);
        expect(result.exp).toBe(smallest);
        expect(limits[result.boundBy]).toBe(result.exp);
      }),
      { numRuns: 1000 },
    );
  });
});
