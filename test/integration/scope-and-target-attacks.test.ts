/**
 * Scope escalation, scope-string tricks, audience/resource confusion and time windows (STANDARDS 7, 8,
 * 24, 25). Scope refusals are invalid_scope, target refusals invalid_target, both 400.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { expectDenied, expectGranted } from '../support/attack-kit.js';
import { startAttackBed, type AttackBed } from '../support/attack-bed.js';
import { AFTER_HOURS, CRM, PAYROLL, TICKETS } from '../support/catalog.js';

let bed: AttackBed;

beforeAll(async () => {
  bed = await startAttackBed();
});

afterAll(async () => {
  await bed.close();
});

async function ask(params: Record<string, string | string[] | undefined>, opts: { user?: string; token?: string; auth?: AttackBed['support'] } = {}) {
  const subject = opts.token ?? await bed.idp.userToken(opts.user ?? 'alice');
  return bed.client.exchange(opts.auth ?? bed.support, { subject_token: subject, ...params });
}

const INVALID_SCOPE = { status: 400, error: 'invalid_scope' } as const;
const INVALID_TARGET = { status: 400, error: 'invalid_target' } as const;

describe('scope escalation', () => {
  it('a scope that is not in the catalog -> invalid_scope', async () => {
    const record = expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.delete' }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
    expect(record.scopes).toEqual({ requested: ['crm.accounts.delete'], granted: [], dropped: [{ scope: 'crm.accounts.delete', reason: 'not_in_catalog' }] });
  });

  it('a scope of another tool -> invalid_scope', async () => {
    expectDenied(await ask({ resource: CRM, scope: 'tickets.read' }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
  });

  it('a scope the agent is not allowed -> invalid_scope', async () => {
    const record = expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.write' }, { auth: bed.keyAgent }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
    expect(record).toMatchObject({ agent: { client_id: 'key-agent', authenticated: true }, scopes: { requested: ['crm.accounts.write'], granted: [], dropped: [{ scope: 'crm.accounts.write', reason: 'not_allowed_for_agent' }] } });
  });

  it('a scope the user cannot justify (bob asks for crm write) -> invalid_scope', async () => {
    const record = expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.write' }, { user: 'bob' }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
    expect(record).toMatchObject({ user: { sub: 'bob' }, scopes: { requested: ['crm.accounts.write'], granted: [], dropped: [{ scope: 'crm.accounts.write', reason: 'not_justified_by_user' }] } });
  });

  it('carol (payroll only) asks for crm read -> invalid_scope', async () => {
    expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.read' }, { user: 'carol' }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
  });

  it('a user token with no scope claim justifies nothing -> invalid_scope', async () => {
    const token = await bed.userToken({ scope: undefined });
    expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.read' }, { token }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
  });

  it('a user token with only unknown scopes ("*", "admin") justifies nothing -> invalid_scope', async () => {
    const token = await bed.userToken({ scope: '* admin openid' });
    expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.read' }, { token }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
  });

  it('a user scope in a different case does not justify -> invalid_scope', async () => {
    const token = await bed.userToken({ scope: 'CRM.READ CRM.WRITE' });
    expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.read' }, { token }), { ...INVALID_SCOPE, reason: 'scope_empty_after_narrowing' });
  });

  it('no scope requested -> invalid_scope', async () => {
    expectDenied(await ask({ resource: CRM, scope: undefined }), { ...INVALID_SCOPE, reason: 'scope_missing' });
  });

  it('more distinct scopes than limits.maxScopes -> invalid_scope', async () => {
    const many = Array.from({ length: 33 }, (_, i) => `crm.extra${i}`).join(' ');
    expectDenied(await ask({ resource: CRM, scope: many }), { ...INVALID_SCOPE, reason: 'scope_too_many' });
  });

  it('a partial request is narrowed, never widened (positive control)', async () => {
    const res = await ask({ resource: CRM, scope: 'crm.accounts.read crm.accounts.write crm.accounts.delete' }, { user: 'bob' });
    expectGranted(res);
    expect(res.body.scope).toBe('crm.accounts.read');
  });
});

describe('scope-string tricks', () => {
  it.each([
    ['a tab separator', 'crm.accounts.read\tcrm.accounts.write'],
    ['a non-breaking space separator', 'crm.accounts.read\u00A0crm.accounts.write'],
    ['a Cyrillic look-alike letter', 'crm.\u0430ccounts.read'],
    ['a full-width letter', 'crm.accounts.r\uFF45ad'],
    ['a zero-width space', 'crm.accounts.read\u200B'],
    ['a double quote', 'crm.accounts.read "x"'],
    ['a backslash', 'crm.accounts.read\\'],
    ['two spaces', 'crm.accounts.read  crm.accounts.write'],
    ['a leading space', ' crm.accounts.read'],
    ['a newline', 'crm.accounts.read\ncrm.accounts.write'],
  ])('%s -> invalid_scope', async (_name, scope) => {
    expectDenied(await ask({ resource: CRM, scope }), { ...INVALID_SCOPE, reason: 'scope_syntax' });
  });
});

describe('audience and resource confusion', () => {
  it('an unknown resource -> invalid_target', async () => {
    expectDenied(await ask({ resource: 'https://evil.example/api', scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_unknown' });
  });

  it('a look-alike of a registered resource (other path) -> invalid_target', async () => {
    expectDenied(await ask({ resource: `${CRM}/../admin`, scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_unknown' });
  });

  it('a look-alike host (registered host as a subdomain) -> invalid_target', async () => {
    expectDenied(await ask({ resource: 'https://crm.example.test.evil.example/api', scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_unknown' });
  });

  it('two resources -> invalid_target', async () => {
    expectDenied(await ask({ resource: [CRM, TICKETS], scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_multiple' });
  });

  it('the same resource twice -> invalid_target', async () => {
    expectDenied(await ask({ resource: [CRM, CRM], scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_multiple' });
  });

  it('a resource with a fragment -> invalid_target', async () => {
    expectDenied(await ask({ resource: `${CRM}#frag`, scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_invalid' });
  });

  it('a relative resource -> invalid_target', async () => {
    expectDenied(await ask({ resource: '/api', scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_invalid' });
  });

  it('a resource with credentials in it -> invalid_target', async () => {
    expectDenied(await ask({ resource: 'https://user:pw@crm.example.test/api', scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_invalid' });
  });

  it('an audience naming another tool than the resource -> invalid_target', async () => {
    expectDenied(await ask({ resource: CRM, audience: 'tickets', scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'audience_mismatch' });
  });

  it('an audience URI naming another tool than the resource -> invalid_target', async () => {
    expectDenied(await ask({ resource: CRM, audience: PAYROLL, scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'audience_mismatch' });
  });

  it('two audiences naming different tools -> invalid_target', async () => {
    expectDenied(await ask({ audience: ['crm', 'tickets'], scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'audience_mismatch' });
  });

  it('an unknown audience -> invalid_target', async () => {
    expectDenied(await ask({ audience: 'https://evil.example', scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_unknown' });
  });

  it('neither resource nor audience -> invalid_target', async () => {
    expectDenied(await ask({ scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'resource_missing' });
  });

  it('a known tool the agent is not registered for -> invalid_target (RFC 8693 §2.2.2)', async () => {
    expectDenied(await ask({ resource: TICKETS, scope: 'tickets.read' }, { auth: bed.keyAgent }), { status: 400, error: 'invalid_target', reason: 'agent_not_allowed_tool' });
  });

  it.each([
    ['upper-case scheme and host', 'HTTPS://CRM.EXAMPLE.TEST/api'],
    ['explicit default port', 'https://crm.example.test:443/api'],
    ['trailing slash', 'https://crm.example.test/api/'],
    ['all three', 'HTTPS://Crm.Example.Test:443/api/'],
  ])('canonicalises the resource (%s) and aud carries the registered value (positive control)', async (_name, resource) => {
    const res = await ask({ resource, scope: 'crm.accounts.read' });
    const record = expectGranted(res);
    const claims = decodeJwt(res.body.access_token as string);
    expect(claims.aud).toBe(CRM);
    expect(record.tool).toEqual({ id: 'crm', resource: CRM });
  });
});

describe('time windows', () => {
  it('a tool outside its time window -> invalid_target', async () => {
    const record = expectDenied(await ask({ resource: AFTER_HOURS, scope: 'crm.accounts.read' }), { ...INVALID_TARGET, reason: 'outside_time_window' });
    expect(record.tool).toMatchObject({ id: 'after-hours' });
  });
});

describe('lifetime stretching', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('a subject token that expired a moment ago (inside the clock skew) leaves no lifetime -> invalid_request', async () => {
    const token = await bed.userToken({ iat: now() - 60, exp: now() - 3 });
    expectDenied(await ask({ resource: CRM, scope: 'crm.accounts.read' }, { token }), { status: 400, error: 'invalid_request', reason: 'lifetime_empty' });
  });

  it('never outlives the subject token (positive control)', async () => {
    const exp = now() + 30;
    const res = await ask({ resource: CRM, scope: 'crm.accounts.read', expires_in: '3600' }, { token: await bed.userToken({ exp }) });
    const record = expectGranted(res);
    expect(decodeJwt(res.body.access_token as string).exp).toBeLessThanOrEqual(exp);
    expect(res.body.expires_in).toBeLessThanOrEqual(30);
    expect(record.token).toMatchObject({ lifetime_bound_by: 'subject_token_exp' });
  });
});

describe('attribution hygiene', () => {
  it('no attribution record contains a raw token that was sent', () => {
    const all = JSON.stringify(bed.broker.sink.records);
    expect(bed.client.sent.size).toBeGreaterThan(10);
    for (const token of bed.client.sent) expect(all).not.toContain(token);
  });
});
