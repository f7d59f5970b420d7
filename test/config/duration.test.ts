import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseDurationMs } from '../../src/config/duration.js';
import { ConfigError, formatProblem } from '../../src/config/config-error.js';

describe('parseDuration', () => {
  it('accepts whole seconds and unit strings', () => {
    expect(parseDuration(300)).toBe(300);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('5m')).toBe(300);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('0s', { allowZero: true })).toBe(0);
  });

  it('rejects anything else', () => {
    for (const bad of [0, -5, 1.5, '0s', '', '5', '5 m', '5M', '1d', 'm', '-1s', '1.5h', null, true, [], {}]) {
      expect(parseDuration(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it('converts to milliseconds, with an optional ms unit', () => {
    expect(parseDurationMs('1500ms')).toBe(1500);
    expect(parseDurationMs('2s')).toBe(2000);
    expect(parseDurationMs(3)).toBe(3000);
    expect(parseDurationMs('0ms')).toBeUndefined();
  });

  it('formats seconds compactly', () => {
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(90)).toBe('1m30s');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('ConfigError', () => {
  it('formats one line per problem: file, path, message', () => {
    const error = new ConfigError([
      { file: 'scopes/crm.yaml', path: 'scopes["crm.accounts.write"].risk', message: 'must be one of low, medium, high, critical' },
      { file: 'scopes/x.yaml', path: '', message: 'is empty; expected a mapping of settings' },
    ]);
    expect(error.problems.map(formatProblem)).toEqual([
      'scopes/crm.yaml: scopes["crm.accounts.write"].risk: must be one of low, medium, high, critical',
      'scopes/x.yaml: is empty; expected a mapping of settings',
    ]);
    expect(error.message).toBe(
      'invalid configuration (2 problems):\nscopes/crm.yaml: scopes["crm.accounts.write"].risk: must be one of low, medium, high, critical\nscopes/x.yaml: is empty; expected a mapping of settings',
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
  });
});
