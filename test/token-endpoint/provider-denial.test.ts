/** The reason and answer for refusals oidc-provider makes before the grant runs (client authentication). */
import { describe, expect, it } from 'vitest';
import { overrideForMissingClientAuth, providerDenialReason } from '../../src/token-endpoint/provider-denial.js';

describe('provider denials', () => {
  it('an undecodable client assertion is a failed client authentication: 401 invalid_client (RFC 7523 §3.2)', () => {
    const e = { error: 'invalid_request', description: 'invalid client_assertion format' };
    expect(providerDenialReason(e)).toBe('client_authentication_failed');
    expect(overrideForMissingClientAuth('client_authentication_failed', e)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('a client_authentication_failed that oidc-provider already answered as invalid_client is left alone', () => {
    const e = { error: 'invalid_client', description: 'client authentication failed' };
    expect(providerDenialReason(e)).toBe('client_authentication_failed');
    expect(overrideForMissingClientAuth('client_authentication_failed', e)).toBeUndefined();
  });

  it('no client authentication at all stays client_authentication_missing, 401 invalid_client', () => {
    const e = { error: 'invalid_request', description: 'no client authentication mechanism provided' };
    expect(providerDenialReason(e)).toBe('client_authentication_missing');
    expect(overrideForMissingClientAuth('client_authentication_missing', e)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('any other invalid_request stays request_malformed', () => {
    expect(providerDenialReason({ error: 'invalid_request', description: 'client_assertion_type must be provided' })).toBe('request_malformed');
  });
});
