/**
 * Issue 16 item 2 over HTTP: every error answer of the broker's own surfaces (admin API, introspection, the
 * revocation feed, /revoke) and of oidc-provider's routes is one shape, written by the one renderer: the exact
 * status and OAuth-style `error`, a body of exactly `error` and `error_description`, JSON, no-store. A fault
 * is 500 server_error with nothing of its cause in the answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminKey } from '../../src/admin/admin-auth.js';
import { MemoryState } from '../../src/state/memory-state.js';
import { secretAgent } from '../support/attack-bed.js';
import { reserveBroker, type RunningTestBroker } from '../support/broker-harness.js';
import { testCatalog } from '../support/catalog.js';

/** A state whose revocation list fails the way a bug would: a plain Error with internals in its message. */
class FaultyState extends MemoryState {
  override listRevocations(): never {
    throw new Error('listRevocations exploded reading /var/lib/broker/secret-material at 0xdeadbeef');
  }
}

let broker: RunningTestBroker;
let operator: { key: string; hash: string };
let viewer: { key: string; hash: string };
let validator: { key: string; hash: string };
const AGENT_SECRET = 'error-surface-agent-secret-0000';

beforeAll(async () => {
  [operator, viewer, validator] = await Promise.all([createAdminKey('oncall'), createAdminKey('auditor'), createAdminKey('crm-service')]);
  const reserved = await reserveBroker();
  broker = await reserved.start({
    trustedIssuers: [], catalog: testCatalog(), state: new FaultyState(),
    agents: [await secretAgent('surface-agent', AGENT_SECRET, { crm: ['crm.accounts.read'] })],
    config: {
      adminKeys: [{ id: 'oncall', hash: operator.hash }, { id: 'auditor', hash: viewer.hash, role: 'viewer' }],
      validatorKeys: [{ id: 'crm-service', hash: validator.hash }],
    },
  });
});
afterAll(async () => { await broker.close(); });

async function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Response> {
  return fetch(`${broker.issuer}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
}

/** The one shape of every error answer. */
async function expectOAuthError(res: Response, status: number, error: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/u);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('pragma')).toBe('no-cache');
  const body = await res.json() as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error).toBe(error);
  expect(body.error_description).toBeTypeOf('string');
  return body.error_description as string;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const json = { 'content-type': 'application/json' };
const formType = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` });

describe('the admin API', () => {
  it('no key: 401 invalid_token with a Bearer challenge', async () => {
    const res = await send('GET', '/admin/revocations');
    await expectOAuthError(res, 401, 'invalid_token');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="admin"');
  });

  it('a viewer changing state: 403 insufficient_scope', async () => {
    const res = await send('POST', '/admin/agents/surface-agent/suspend', { ...bearer(viewer.key), ...json }, '{"reason":"x"}');
    expect(await expectOAuthError(res, 403, 'insufficient_scope')).toMatch(/viewer role/u);
  });

  it('bad input: 400 invalid_request; too large: 413; unknown action: 404 not_found; unknown agent: 404 unknown_agent', async () => {
    await expectOAuthError(await send('POST', '/admin/agents/surface-agent/suspend', { ...bearer(operator.key), ...json }, '[1]'), 400, 'invalid_request');
    await expectOAuthError(await send('POST', '/admin/agents/surface-agent/suspend', { ...bearer(operator.key), 'content-type': 'text/plain' }, 'x'), 400, 'invalid_request');
    await expectOAuthError(await send('POST', '/admin/agents/surface-agent/suspend', { ...bearer(operator.key), ...json }, JSON.stringify({ reason: 'x'.repeat(20_000) })), 413, 'invalid_request');
    await expectOAuthError(await send('POST', '/admin/agents/surface-agent/explode', { ...bearer(operator.key), ...json }, '{"reason":"x"}'), 404, 'not_found');
    await expectOAuthError(await send('POST', '/admin/agents/nobody/suspend', { ...bearer(operator.key), ...json }, '{"reason":"x"}'), 404, 'unknown_agent');
  });

  it('a fault behind a route: 500 server_error, nothing of the cause, a request id to find the log line', async () => {
    const res = await send('GET', '/admin/revocations', { ...bearer(operator.key), 'x-request-id': 'fault-1' });
    expect(await expectOAuthError(res, 500, 'server_error')).toBe('internal error');
    expect(res.headers.get('x-request-id')).toBe('fault-1');
  });
});

describe('introspection and the revocation feed', () => {
  it('no validator key: 401 invalid_client with a Bearer challenge', async () => {
    const res = await send('POST', '/introspect', formType, 'token=x');
    await expectOAuthError(res, 401, 'invalid_client');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="validators"');
    await expectOAuthError(await send('GET', '/revocations/feed'), 401, 'invalid_client');
  });

  it('bad requests: 400 invalid_request; an oversized body: 413', async () => {
    await expectOAuthError(await send('POST', '/introspect', { ...bearer(validator.key), ...json }, '{}'), 400, 'invalid_request');
    await expectOAuthError(await send('POST', '/introspect', { ...bearer(validator.key), ...formType }, 'token=a&token=b'), 400, 'invalid_request');
    await expectOAuthError(await send('POST', '/introspect', { ...bearer(validator.key), ...formType }, `token=${'a'.repeat(40_000)}`), 413, 'invalid_request');
    await expectOAuthError(await send('GET', '/revocations/feed?cursor=not-a-cursor', bearer(validator.key)), 400, 'invalid_request');
  });
});

describe('/revoke (RFC 7009)', () => {
  it('no client authentication: 401 invalid_client with a Basic challenge', async () => {
    const res = await send('POST', '/revoke', formType, 'token=x');
    expect(await expectOAuthError(res, 401, 'invalid_client')).toBe('client authentication is required');
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="revoke"');
  });

  it('a suspended agent: 400 unauthorized_client, the denial of the reason table', async () => {
    await broker.state.setAgentOverride('surface-agent', { status: 'suspended', reason: 'test', by: 'oncall', at: Math.floor(Date.now() / 1000) });
    try {
      const res = await send('POST', '/revoke', { ...formType, ...basic('surface-agent', AGENT_SECRET) }, 'token=x');
      await expectOAuthError(res, 400, 'unauthorized_client');
    } finally {
      await broker.state.setAgentOverride('surface-agent', null);
    }
  });
});

describe("oidc-provider's own routes", () => {
  it('answer JSON and no-store even to a caller that prefers HTML', async () => {
    const res = await send('POST', '/token', { ...formType, accept: 'text/html' }, 'grant_type=x');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/u);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const res2 = await send('POST', '/revoke', { ...formType, accept: 'text/html', ...basic('surface-agent', AGENT_SECRET) }, 'token_type_hint=access_token');
    await expectOAuthError(res2, 400, 'invalid_request');
  });
});
