/** The closed set of non-exchange errors: every entry well-formed, and the error classes that are members of it. */
import { describe, expect, it } from 'vitest';
import { AdminActionError } from '../../src/admin/admin-actions.js';
import { AttributionUnavailableError } from '../../src/attribution/sink.js';
import { BROKER_ERRORS, BrokerError, refuse } from '../../src/errors/broker-errors.js';
import { brokerErrorAnswer } from '../../src/http/oauth-error.js';
import { ReplicationUnconfirmedError, StateUnavailableError } from '../../src/state/shared-state.js';
import { IssuerUnavailableError } from '../../src/subject-token/issuer-keys.js';

describe('BROKER_ERRORS', () => {
  for (const [reason, entry] of Object.entries(BROKER_ERRORS)) {
    it(`${reason}: a snake_case error, a 4xx/5xx status, a printable ASCII description`, () => {
      expect(entry.error).toMatch(/^[a-z]+(_[a-z]+)*$/u);
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
      // RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
      expect(entry.description).toMatch(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/u);
    });
  }

  it('uses the registered OAuth codes for dependency failures and the catch-all', () => {
    for (const reason of ['state_unavailable', 'attribution_unavailable', 'upstream_unavailable', 'replication_unconfirmed'] as const) {
      expect(BROKER_ERRORS[reason]).toMatchObject({ error: 'temporarily_unavailable', status: 503 });
    }
    expect(BROKER_ERRORS.server_error).toEqual({ error: 'server_error', status: 500, description: 'internal error' });
  });
});

describe('BrokerError', () => {
  it('keeps its message for logs and answers only with the safe description', () => {
    const err = new BrokerError('state_unavailable', 'redis MULTI failed at 10.0.0.7:6379');
    expect(err.message).toBe('redis MULTI failed at 10.0.0.7:6379');
    expect(brokerErrorAnswer(err)).toEqual({
      status: 503, error: 'temporarily_unavailable', description: 'shared state is unavailable; try again', headers: { 'Retry-After': '1' },
    });
  });

  it('has no status, error or expose property for Koa or oidc-provider to pick up', () => {
    const err = new BrokerError('not_found');
    for (const key of ['status', 'statusCode', 'error', 'expose', 'error_description']) expect(key in err, key).toBe(false);
  });

  it('answers authentication failures with their challenge', () => {
    expect(brokerErrorAnswer(refuse('admin_unauthorized')).headers).toEqual({ 'WWW-Authenticate': 'Bearer realm="admin"' });
    expect(brokerErrorAnswer(refuse('validator_unauthorized'))).toMatchObject({ status: 401, error: 'invalid_client', headers: { 'WWW-Authenticate': 'Bearer realm="validators"' } });
  });

  it('the dependency errors of the broker are members with a fixed reason', () => {
    expect(new StateUnavailableError('x')).toMatchObject({ reason: 'state_unavailable', name: 'StateUnavailableError', message: 'x' });
    expect(new ReplicationUnconfirmedError('y')).toMatchObject({ reason: 'replication_unconfirmed', name: 'ReplicationUnconfirmedError' });
    expect(new ReplicationUnconfirmedError('y')).toBeInstanceOf(StateUnavailableError);
    expect(new AttributionUnavailableError('z', { cause: new Error('ENOSPC') })).toMatchObject({ reason: 'attribution_unavailable' });
    expect(new IssuerUnavailableError('timed out')).toMatchObject({ reason: 'upstream_unavailable' });
    for (const err of [new StateUnavailableError(), new AttributionUnavailableError(), new IssuerUnavailableError()]) expect(err).toBeInstanceOf(BrokerError);
  });

  it('an admin action error keeps its status, OAuth error and message', () => {
    const err = new AdminActionError('override_required', 'the agent was suspended by bob');
    expect(err).toBeInstanceOf(BrokerError);
    expect(err).toMatchObject({ status: 409, code: 'override_required', message: 'the agent was suspended by bob', description: 'the agent was suspended by bob' });
  });
});
