import { describe, expect, it } from 'vitest';
import { resolveTool } from '../../src/exchange/resolve-tool.js';
import { isDenial, type DenialReason } from '../../src/exchange/reasons.js';
import { makeCatalog, makeRequest, makeTool } from './fixtures.js';

const crm = makeTool({ id: 'crm', resource: 'https://crm.example.com/api' });
const billing = makeTool({ id: 'billing', resource: 'https://billing.example.com' });
const ledger = makeTool({ id: 'ledger', resource: 'urn:example:Ledger' });
const catalog = makeCatalog([crm, billing, ledger]);

function resolve(resources: readonly string[], audiences: readonly string[] = []) {
  return resolveTool(makeRequest({ resources, audiences }), catalog);
}

function toolIdOrReason(resources: readonly string[], audiences: readonly string[] = []): string {
  const result = resolve(resources, audiences);
  return isDenial(result) ? `denied:${result.reason}` : result.id;
}

function denied(reason: DenialReason): string {
  return `denied:${reason}`;
}

describe('resolveTool: resource', () => {
  it('requires a resource or an audience', () => {
    expect(toolIdOrReason([], [])).toBe(denied('resource_missing'));
  });

  it.each([
    'https://crm.example.com/api',
    'HTTPS://CRM.EXAMPLE.COM/api',
    'https://Crm.Example.Com:443/api',
    'https://crm.example.com/api/',
    'https://crm.example.com/api//',
    'https://crm.example.com:443/api/',
  ])('canonicalises %s to the registered tool', (resource) => {
    const result = resolve([resource]);
    expect(isDenial(result)).toBe(false);
    // Minted tokens carry the registered identifier, never the caller's spelling.
    expect(!isDenial(result) && result.resource).toBe('https://crm.example.com/api');
  });

  it('matches a registered bare origin with or without a trailing slash', () => {
    expect(toolIdOrReason(['https://billing.example.com/'])).toBe('billing');
    expect(toolIdOrReason(['https://BILLING.example.com'])).toBe('billing');
  });

  it('matches a URN with a case-insensitive scheme but a case-sensitive rest', () => {
    expect(toolIdOrReason(['URN:example:Ledger'])).toBe('ledger');
    expect(toolIdOrReason(['urn:example:ledger'])).toBe(denied('resource_unknown'));
  });

  it.each([
    ['a look-alike host', 'https://crm.example.com.evil.test/api', 'resource_unknown'],
    ['credentials in the authority', 'https://crm.example.com@evil.test/api', 'resource_invalid'],
    ['user and password', 'https://user:pass@crm.example.com/api', 'resource_invalid'],
    ['a fragment', 'https://crm.example.com/api#admin', 'resource_invalid'],
    ['an empty fragment', 'https://crm.example.com/api#', 'resource_invalid'],
    ['a relative path', '/api', 'resource_invalid'],
    ['a scheme-relative URI', '//crm.example.com/api', 'resource_invalid'],
    ['a bare tool id', 'crm', 'resource_invalid'],
    ['surrounding whitespace', ' https://crm.example.com/api', 'resource_invalid'],
    ['another port', 'https://crm.example.com:8443/api', 'resource_unknown'],
    ['another scheme', 'http://crm.example.com/api', 'resource_unknown'],
    ['a sub-path', 'https://crm.example.com/api/admin', 'resource_unknown'],
    ['a parent path', 'https://crm.example.com/', 'resource_unknown'],
    ['a query', 'https://crm.example.com/api?tenant=other', 'resource_unknown'],
    ['a look-alike Cyrillic host', 'https://\u0441rm.example.com/api', 'resource_unknown'],
  ] as const)('refuses %s', (_name, resource, reason) => {
    const result = resolve([resource]);
    expect(isDenial(result) && result.reason).toBe(reason);
    expect(isDenial(result) && result.error).toBe('invalid_target');
  });

  it('refuses more than one resource, even the same one twice', () => {
    expect(toolIdOrReason(['https://crm.example.com/api', 'https://billing.example.com'])).toBe(
      denied('resource_multiple'),
    );
    expect(toolIdOrReason(['https://crm.example.com/api', 'https://crm.example.com/api'])).toBe(
      denied('resource_multiple'),
    );
  });

  it('does not echo the resource in the description', () => {
    const result = resolve(['https://crm.example.com.evil.test/api']);
    expect(isDenial(result) && result.description).not.toContain('evil');
  });
});

describe('resolveTool: audience', () => {
  it('resolves an audience alone, by tool id or by resource URI', () => {
    expect(toolIdOrReason([], ['crm'])).toBe('crm');
    expect(toolIdOrReason([], ['https://crm.example.com/api'])).toBe('crm');
    expect(toolIdOrReason([], ['HTTPS://crm.example.com:443/api/'])).toBe('crm');
    expect(toolIdOrReason([], ['crm', 'https://crm.example.com/api'])).toBe('crm');
  });

  it('accepts an audience that agrees with the resource', () => {
    expect(toolIdOrReason(['https://crm.example.com/api'], ['crm'])).toBe('crm');
    expect(toolIdOrReason(['https://crm.example.com/api'], ['https://crm.example.com/api/'])).toBe('crm');
  });

  it('refuses an audience naming another tool than the resource', () => {
    expect(toolIdOrReason(['https://crm.example.com/api'], ['billing'])).toBe(denied('audience_mismatch'));
    expect(toolIdOrReason(['https://crm.example.com/api'], ['crm', 'https://billing.example.com'])).toBe(
      denied('audience_mismatch'),
    );
  });

  it('refuses audiences that disagree with each other', () => {
    expect(toolIdOrReason([], ['crm', 'billing'])).toBe(denied('audience_mismatch'));
  });

  it('refuses an audience that names no tool', () => {
    expect(toolIdOrReason([], ['CRM'])).toBe(denied('resource_unknown'));
    expect(toolIdOrReason([], ['https://crm.example.com.evil.test/api'])).toBe(denied('resource_unknown'));
    expect(toolIdOrReason([], ['https://crm.example.com@evil.test/api'])).toBe(denied('resource_unknown'));
    expect(toolIdOrReason(['https://crm.example.com/api'], ['crm', 'nope'])).toBe(denied('resource_unknown'));
  });

  it('checks the resource before the audience', () => {
    expect(toolIdOrReason(['/relative'], ['crm'])).toBe(denied('resource_invalid'));
    expect(toolIdOrReason(['https://a.example', 'https://b.example'], ['crm'])).toBe(denied('resource_multiple'));
  });

  it('refuses an audience that is one tool id and another tool resource', () => {
    const trap = makeTool({ id: 'urn:example:Ledger', resource: 'https://trap.example.com' });
    const confusing = makeCatalog([ledger, trap]);
    const result = resolveTool(makeRequest({ resources: [], audiences: ['urn:example:Ledger'] }), confusing);
    expect(isDenial(result) && result.reason).toBe('audience_mismatch');
  });
});
