import { describe, expect, it } from 'vitest';
import { rolesFromClaims } from '../../src/sign-in/roles.js';
import { csrfMatches, safeReturnTo } from '../../src/sign-in/person-session.js';

describe('roles from the configured claim', () => {
  it('reads an array or a space-separated string; an operator or approver is also a viewer', () => {
    expect(rolesFromClaims({ r: ['operator'] }, 'r')).toEqual(['viewer', 'operator']);
    expect(rolesFromClaims({ r: 'approver viewer' }, 'r')).toEqual(['viewer', 'approver']);
  });
  it('ignores unknown values and other claims: no recognised role, no access', () => {
    expect(rolesFromClaims({ r: ['admin', 'root'] }, 'r')).toEqual([]);
    expect(rolesFromClaims({ roles: ['operator'] }, 'r')).toEqual([]);
    expect(rolesFromClaims({ r: { operator: true } }, 'r')).toEqual([]);
    expect(rolesFromClaims({ r: 'Operator' }, 'r')).toEqual([]);
  });
});

describe('return_to after sign-in', () => {
  it('keeps local paths and refuses anything that could leave the site', () => {
    expect(safeReturnTo('/console/agents?x=1', '/')).toBe('/console/agents?x=1');
    for (const bad of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/a\u0000b', '/a\\b', 42, undefined, `/${'a'.repeat(600)}`]) {
      expect(safeReturnTo(bad, '/fallback')).toBe('/fallback');
    }
  });
});

describe('CSRF token comparison', () => {
  it('matches only the exact token', () => {
    expect(csrfMatches({ csrf: 'abc' }, 'abc')).toBe(true);
    expect(csrfMatches({ csrf: 'abc' }, 'abd')).toBe(false);
    expect(csrfMatches({ csrf: 'abc' }, 'ab')).toBe(false);
    expect(csrfMatches({ csrf: 'abc' }, undefined)).toBe(false);
  });
});

describe('Secure cookies', () => {
  it('are Secure everywhere but plain HTTP on a loopback host', async () => {
    const { secureCookiesFor } = await import('../../src/sign-in/cookies.js');
    expect(secureCookiesFor('http://localhost:9400')).toBe(false);
    expect(secureCookiesFor('http://127.0.0.1:9400')).toBe(false);
    expect(secureCookiesFor('https://broker.example.com')).toBe(true);
    expect(secureCookiesFor('http://broker.internal:9400')).toBe(true);
  });
});
