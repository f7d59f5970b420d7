import { describe, expect, it } from 'vitest';
import { keySchedule, settle } from '../../src/keys/key-schedule.js';
import type { KeyStatus } from '../../src/keys/key-file.js';

const MIN = 60_000;
const opts = { maxTokenLifetimeMs: 60 * MIN, clockSkewMs: 10_000 };
const key = (kid: string, status: KeyStatus, createdMs: number, more: { activateAtMs?: number; retiredAtMs?: number } = {}) => ({ kid, status, createdMs, ...more });

describe('keySchedule', () => {
  it('signs with the one active key and publishes it', () => {
    const s = keySchedule([key('A', 'active', 0)], 5 * MIN, opts);
    expect(s.signing).toBe('A');
    expect(s.published).toEqual(['A']);
  });

  it('publishes a next key before it signs, then lets it sign at activate_at (publish before sign)', () => {
    const keys = [key('A', 'active', 0), key('B', 'next', 10 * MIN, { activateAtMs: 25 * MIN })];
    const before = keySchedule(keys, 24 * MIN, opts);
    expect(before.signing).toBe('A');
    expect(before.published).toEqual(['A', 'B']);
    expect(before.keys.find((k) => k.kid === 'B')).toEqual({ kid: 'B', state: 'next', sinceMs: 25 * MIN });
    const after = keySchedule(keys, 25 * MIN, opts);
    expect(after.signing).toBe('B');
    expect(after.published).toEqual(['B', 'A']);
  });

  it('keeps a superseded key published until every token it signed has expired (+ skew), then drops it', () => {
    const keys = [key('A', 'active', 0), key('B', 'next', 10 * MIN, { activateAtMs: 25 * MIN })];
    const until = 25 * MIN + opts.maxTokenLifetimeMs + opts.clockSkewMs;
    expect(keySchedule(keys, until - 1, opts).keys.find((k) => k.kid === 'A')).toEqual({ kid: 'A', state: 'retired', sinceMs: 25 * MIN, unpublishAtMs: until });
    expect(keySchedule(keys, until - 1, opts).published).toEqual(['B', 'A']);
    const later = keySchedule(keys, until, opts);
    expect(later.published).toEqual(['B']);
    expect(later.keys.find((k) => k.kid === 'A')?.state).toBe('expired');
  });

  it('honours an explicit retired_at', () => {
    const keys = [key('A', 'retired', 0, { retiredAtMs: 30 * MIN }), key('B', 'active', 20 * MIN)];
    expect(keySchedule(keys, 31 * MIN, opts).published).toEqual(['B', 'A']);
    expect(keySchedule(keys, 30 * MIN + 60 * MIN + 10_000, opts).published).toEqual(['B']);
  });

  it('has no signer when no key may sign (only a future next key, or only retired keys)', () => {
    expect(keySchedule([key('B', 'next', 0, { activateAtMs: 10 * MIN })], 0, opts).signing).toBeUndefined();
    expect(keySchedule([key('A', 'retired', 0, { retiredAtMs: 0 })], 0, opts).signing).toBeUndefined();
  });

  it('picks the same signer on every replica when two keys activated at the same time (by kid)', () => {
    const a = keySchedule([key('A', 'active', 0), key('B', 'active', 0)], 1, opts).signing;
    const b = keySchedule([key('B', 'active', 0), key('A', 'active', 0)], 1, opts).signing;
    expect(a).toBe(b);
  });

  it('retires each key of a chain at its successor activation', () => {
    const keys = [key('A', 'active', 0), key('B', 'next', 1, { activateAtMs: 10 * MIN }), key('C', 'next', 2, { activateAtMs: 20 * MIN })];
    const s = keySchedule(keys, 30 * MIN, opts);
    expect(s.signing).toBe('C');
    expect(s.keys.find((k) => k.kid === 'A')?.sinceMs).toBe(10 * MIN);
    expect(s.keys.find((k) => k.kid === 'B')?.sinceMs).toBe(20 * MIN);
  });

  it('settle() rewrites statuses without changing any later decision', () => {
    const keys = [key('A', 'active', 0), key('B', 'next', 1, { activateAtMs: 10 * MIN })];
    const settled = settle(keys, 15 * MIN, opts);
    expect(settled).toEqual([key('A', 'retired', 0, { retiredAtMs: 10 * MIN }), key('B', 'active', 1, { activateAtMs: 10 * MIN })]);
    for (const t of [15 * MIN, 40 * MIN, 70 * MIN + 9_999, 70 * MIN + 10_000, 200 * MIN]) {
      const a = keySchedule(keys, t, opts);
      const b = keySchedule(settled, t, opts);
      expect({ signing: b.signing, published: b.published }).toEqual({ signing: a.signing, published: a.published });
    }
  });
});
