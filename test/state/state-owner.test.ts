import { describe, expect, it } from 'vitest';
import { judgeMarker, parseOwnerMarker } from '../../src/state/state-owner.js';

const mine = { issuer: 'https://broker.example.com', epoch: 'e1', claimed_at: '2026-12-03T12:00:00.000Z' };

describe('the state epoch', () => {
  it('is kept while the marker is this broker\'s', () => {
    expect(judgeMarker(JSON.stringify(mine), mine)).toBe('ok');
  });
  it('is lost when the marker vanished (Redis restarted empty, flushed)', () => {
    expect(judgeMarker(null, mine)).toBe('lost');
  });
  it('is lost when the prefix was claimed again (another epoch) or by another issuer, or holds garbage', () => {
    expect(judgeMarker(JSON.stringify({ ...mine, epoch: 'e2' }), mine)).toBe('lost');
    expect(judgeMarker(JSON.stringify({ ...mine, issuer: 'https://other.example.com' }), mine)).toBe('lost');
    expect(judgeMarker('not json', mine)).toBe('lost');
    expect(parseOwnerMarker('{"issuer": 1}')).toBeUndefined();
  });
});
