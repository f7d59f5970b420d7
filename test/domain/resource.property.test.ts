import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalResource } from '../../src/domain/resource.js';

/** resolve-tool looks up the caller's exact spelling first; that is only sound if canonical forms are fixed points. */
describe('canonicalResource', () => {
  it('is idempotent: the canonical form of a canonical form is itself', () => {
    const spelled = fc.tuple(
      fc.webUrl({ withQueryParameters: true, withFragments: false }),
      fc.constantFrom('', '/', '//', ':443', ':80'),
      fc.boolean(),
    ).map(([url, suffix, upper]) => {
      const withSuffix = suffix.startsWith(':') ? url.replace(/^(https?:\/\/[^/?]+)/u, `$1${suffix}`) : `${url}${suffix}`;
      return upper ? withSuffix.replace(/^https?:\/\/[^/?]+/u, (m) => m.toUpperCase()) : withSuffix;
    });
    fc.assert(
      fc.property(fc.oneof(spelled, fc.string(), fc.constantFrom('urn:Example:tool', 'URN:example:Tool', 'mailto:x@y')), (value) => {
        const once = canonicalResource(value);
        if (once === undefined) return;
        expect(canonicalResource(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('folds the spellings of one resource together and keeps distinct resources apart', () => {
    expect(canonicalResource('HTTPS://CRM.Example.com:443/api/')).toBe('https://crm.example.com/api');
    expect(canonicalResource('https://crm.example.com/api')).toBe('https://crm.example.com/api');
    expect(canonicalResource('https://crm.example.com/API')).toBe('https://crm.example.com/API');
    expect(canonicalResource('https://crm.example.com:8443/api')).toBe('https://crm.example.com:8443/api');
    expect(canonicalResource('https://crm.example.com/api#frag')).toBeUndefined();
    expect(canonicalResource('https://user:pw@crm.example.com/api')).toBeUndefined();
    expect(canonicalResource(' https://crm.example.com/api')).toBeUndefined();
  });
});
