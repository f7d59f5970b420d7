import { describe, expect, it } from 'vitest';
import { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE, type Grant } from '../../src/domain/exchange.js';
import { decide, precheck, type DecisionInput } from '../../src/exchange/decide.js';
import { isDenial, type Denial } from '../../src/exchange/reasons.js';
import {
  makeAgent,
  makeCatalog,
  makeRequest,
  makeSubject,
  makeTool,
  nestedAct,
  NOW_MS,
  NOW_S,
  POLICY,
} from './fixtures.js';

const crm = makeTool({ id: 'crm', maxTtlSeconds: 600 });
const billing = makeTool({
  id: 'billing',
  resource: 'https://billing.example.com',
  scopes: { 'billing.read': ['billing.read'] },
});
const catalog = makeCatalog([crm, billing]);

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    request: makeRequest({ scopes: ['crm.read', 'crm.write'] }),
    agent: makeAgent(),
    tool: crm,
    subject: makeSubject(),
    policy: POLICY,
    nowMs: NOW_MS,
    ...overrides,
  };
}

function granted(overrides: Partial<DecisionInput> = {}): Grant {
  const result = decide(input(overrides));
  if (isDenial(result)) throw new Error(`expected a grant, got ${result.reason}`);
  return result;
}

function denied(overrides: Partial<DecisionInput> = {}): Denial {
  const result = decide(input(overrides));
  if (!isDenial(result)) throw new Error('expected a denial, got a grant');
  return result;
}

function precheckReason(...args: Parameters<typeof precheck>): string {
  const result = precheck(...args);
  return isDenial(result) ? result.reason : `tool:${result.tool.id}`;
}

describe('precheck', () => {
  const agent = makeAgent();

  it('returns the tool for an active agent registered for it', () => {
    expect(precheckReason(makeRequest(), agent, catalog)).toBe('tool:crm');
  });

  it('refuses a suspended agent before looking at the target', () => {
    const suspended = makeAgent({ status: 'suspended' });
    expect(precheckReason(makeRequest(), suspended, catalog)).toBe('agent_suspended');
    expect(precheckReason(makeRequest({ resources: ['/nonsense'] }), suspended, catalog)).toBe('agent_suspended');
  });

  it('passes on target errors', () => {
    expect(precheckReason(makeRequest({ resources: [] }), agent, catalog)).toBe('resource_missing');
    expect(precheckReason(makeRequest({ resources: ['https://evil.test/'] }), agent, catalog)).toBe('resource_unknown');
  });

  it('refuses a tool the agent is not registered for', () => {
    const request = makeRequest({ resources: ['https://billing.example.com'] });
    const result = precheck(request, agent, catalog);
    expect(isDenial(result) && result.reason).toBe('agent_not_allowed_tool');
    expect(isDenial(result) && result.error).toBe('invalid_target');
  });

  it('refuses an agent whose grant_types do not list token exchange, before looking at the target', () => {
    const withdrawn = { ...agent, grantTypes: [] };
    const result = precheck(makeRequest(), withdrawn, catalog);
    expect(isDenial(result) && result.reason).toBe('agent_not_allowed_grant');
    expect(isDenial(result) && result.error).toBe('unauthorized_client');
    expect(precheckReason(makeRequest({ resources: ['/nonsense'] }), withdrawn, catalog)).toBe('agent_not_allowed_grant');
    expect(precheckReason(makeRequest(), { ...agent, grantTypes: [TOKEN_EXCHANGE_GRANT] }, catalog)).toBe('tool:crm');
  });

  it('refuses an actor token from an agent not registered to present one', () => {
    const request = makeRequest({ actorToken: 'a.b.c', actorTokenType: TOKEN_TYPE.jwt });
    expect(precheckReason(request, agent, catalog)).toBe('actor_token_not_allowed');
    const allowed = makeAgent({ actorToken: { allowed: true, subjects: [] } });
    expect(precheckReason(request, allowed, catalog)).toBe('tool:crm');
  });

  it('checks the target before the actor token', () => {
    const request = makeRequest({
      resources: ['https://billing.example.com'],
      actorToken: 'a.b.c',
      actorTokenType: TOKEN_TYPE.jwt,
    });
    expect(precheckReason(request, agent, catalog)).toBe('agent_not_allowed_tool');
  });
});

describe('decide: a grant', () => {
  it('carries the user, the agent as actor, the narrowed scopes and a bounded lifetime', () => {
    const grant = granted();
    expect(grant).toEqual({
      decision: 'granted',
      tool: crm,
      subject: { iss: 'https://idp.example.com', sub: 'user-42' },
      act: { sub: 'agent-mail' },
      scopes: { requested: ['crm.read', 'crm.write'], granted: ['crm.read', 'crm.write'], dropped: [] },
      iat: NOW_S,
      exp: NOW_S + 600,
      lifetimeBoundBy: 'tool_max_ttl',
      issuedTokenType: TOKEN_TYPE.accessToken,
    });
  });

  it('issues the requested token type', () => {
    const grant = granted({ request: makeRequest({ requestedTokenType: TOKEN_TYPE.jwt }) });
    expect(grant.issuedTokenType).toBe(TOKEN_TYPE.jwt);
  });

  it('uses whole seconds for iat', () => {
    expect(granted({ nowMs: NOW_MS + 999 }).iat).toBe(NOW_S);
  });

  it('narrows a partial request and reports why the rest was dropped', () => {
    const grant = granted({
      request: makeRequest({ scopes: ['crm.read', 'crm.write', 'crm.delete'] }),
      subject: makeSubject({ scopes: ['crm.read'] }),
    });
    expect(grant.scopes.granted).toEqual(['crm.read']);
    expect(grant.scopes.dropped).toEqual([
      { scope: 'crm.write', reason: 'not_justified_by_user' },
      { scope: 'crm.delete', reason: 'not_in_catalog' },
    ]);
  });

  it('nests an existing chain and does not copy may_act', () => {
    const grant = granted({
      subject: makeSubject({
        act: { sub: 'orchestrator', exp: 1 },
        mayAct: { sub: 'agent-mail', iss: POLICY.brokerIssuer },
      }),
    });
    expect(grant.act).toEqual({ sub: 'agent-mail', act: { sub: 'orchestrator' } });
    expect(JSON.stringify(grant)).not.toMatch(/may_?act/iu);
  });

  it.each([
    ['the agent max TTL', { agent: makeAgent({ maxTtlSeconds: 120 }) }, NOW_S + 120, 'agent_max_ttl'],
    ['the subject token exp', { subject: makeSubject({ exp: NOW_S + 30 }) }, NOW_S + 30, 'subject_token_exp'],
  ] as const)('is bounded by %s', (_name, overrides, exp, boundBy) => {
    const grant = granted(overrides);
    expect(grant.exp).toBe(exp);
    expect(grant.lifetimeBoundBy).toBe(boundBy);
  });

  it('is bounded by the end of the current time window', () => {
    // NOW is Wednesday 10:00 UTC.
    const tool = makeTool({ timeWindows: [{ days: ['wed'], from: '09:00', to: '10:05', timeZone: 'UTC' }] });
    const grant = granted({ tool });
    expect(grant.exp).toBe(NOW_S + 300);
    expect(grant.lifetimeBoundBy).toBe('time_window_end');
  });

  it('accepts an actor token naming the agent itself or a registered identity', () => {
    const agent = makeAgent({ actorToken: { allowed: true, subjects: ['spiffe://example.org/mail'] } });
    const actor = { iss: 'https://workload.example', sub: 'agent-mail', exp: NOW_S + 60, fingerprint: 'fp' };
    expect(granted({ agent, actor }).decision).toBe('granted');
    expect(granted({ agent, actor: { ...actor, sub: 'spiffe://example.org/mail' } }).decision).toBe('granted');
  });
});

describe('decide: denials', () => {
  it('re-checks the agent status and tool registration', () => {
    expect(denied({ agent: makeAgent({ status: 'suspended' }) }).reason).toBe('agent_suspended');
    expect(denied({ agent: { ...makeAgent(), grantTypes: [] } }).reason).toBe('agent_not_allowed_grant');
    expect(denied({ tool: billing }).reason).toBe('agent_not_allowed_tool');
  });

  it('refuses an actor token naming someone else', () => {
    const agent = makeAgent({ actorToken: { allowed: true, subjects: ['spiffe://example.org/mail'] } });
    const actor = { iss: 'https://workload.example', sub: 'agent-other', exp: NOW_S + 60, fingerprint: 'fp' };
    expect(denied({ agent, actor }).reason).toBe('actor_token_subject_mismatch');
  });

  it('refuses an actor token from an agent not registered to present one', () => {
    const actor = { iss: 'https://workload.example', sub: 'agent-mail', exp: NOW_S + 60, fingerprint: 'fp' };
    expect(denied({ actor }).reason).toBe('actor_token_not_allowed');
  });

  it.each([
    ['another agent', { sub: 'agent-other' }],
    ['another issuer', { sub: 'agent-mail', iss: 'https://evil.example.com' }],
    ['no sub', { iss: POLICY.brokerIssuer }],
  ])('refuses a subject token whose may_act names %s', (_name, mayAct) => {
    expect(denied({ subject: makeSubject({ mayAct }) }).reason).toBe('may_act_mismatch');
  });

  it.each([
    ['malformed', [{ sub: 'x' }], 'act_chain_malformed'],
    ['too deep', nestedAct(10_000), 'act_chain_too_deep'],
    ['already naming the agent', { sub: 'agent-mail' }, 'act_chain_repeated_actor'],
  ] as const)('refuses an existing act chain that is %s', (_name, act, reason) => {
    expect(denied({ subject: makeSubject({ act }) }).reason).toBe(reason);
  });

  it('refuses outside every time window, before looking at scopes', () => {
    const tool = makeTool({ timeWindows: [{ days: ['mon'], from: '09:00', to: '17:00', timeZone: 'UTC' }] });
    const denial = denied({ tool, request: makeRequest({ scopes: [] }) });
    expect(denial.reason).toBe('outside_time_window');
    expect(denial.error).toBe('invalid_target');
  });

  it('refuses a request without scopes', () => {
    const denial = denied({ request: makeRequest({ scopes: [] }) });
    expect(denial.reason).toBe('scope_missing');
    expect(denial.error).toBe('invalid_scope');
  });

  it('refuses when nothing survives narrowing, without naming scopes', () => {
    const denial = denied({
      request: makeRequest({ scopes: ['crm.admin', 'crm.write'] }),
      subject: makeSubject({ scopes: ['crm.read'] }),
    });
    expect(denial.reason).toBe('scope_empty_after_narrowing');
    expect(denial.error).toBe('invalid_scope');
    expect(denial.description).toContain('2');
    expect(denial.description).not.toContain('crm');
    // The reasons go to the attribution record, not to the caller.
    expect(denial.scopes?.granted).toEqual([]);
    expect(denial.scopes?.dropped.map((d) => d.scope).sort()).toEqual(['crm.admin', 'crm.write']);
    expect(denial.scopes?.dropped.every((d) => ['not_in_catalog', 'not_allowed_for_agent', 'not_justified_by_user'].includes(d.reason))).toBe(true);
  });

  it('refuses a user token without scopes', () => {
    expect(denied({ subject: makeSubject({ scopes: [] }) }).reason).toBe('scope_empty_after_narrowing');
  });

  it('refuses when no lifetime remains', () => {
    expect(denied({ subject: makeSubject({ exp: NOW_S }) }).reason).toBe('lifetime_empty');
  });
});
