import { describe, expect, it } from 'vitest';
import { narrowScopes } from '../../src/exchange/narrow-scopes.js';
import { makeTool } from './fixtures.js';

const tool = makeTool({
  scopes: {
    'crm.read': ['crm.read', 'crm.admin'],
    'crm.write': ['crm.write'],
    'crm.delete': ['crm.admin'],
    'crm.export': [],
  },
});
const agentAllowed = ['crm.read', 'crm.write', 'crm.export', 'not.in.catalog'];

describe('narrowScopes', () => {
  it('grants what is in the catalog, allowed for the agent and justified by the user', () => {
    const outcome = narrowScopes(['crm.read', 'crm.write'], tool, agentAllowed, ['crm.read', 'crm.write']);
    expect(outcome).toEqual({ requested: ['crm.read', 'crm.write'], granted: ['crm.read', 'crm.write'], dropped: [] });
  });

  it('gives each dropped scope one reason, checked in a fixed order', () => {
    const outcome = narrowScopes(
      ['not.in.catalog', 'crm.delete', 'crm.write', 'crm.read'],
      tool,
      agentAllowed,
      ['crm.read'],
    );
    expect(outcome.granted).toEqual(['crm.read']);
    expect(outcome.dropped).toEqual([
      // also allowed for the agent, but the catalog check comes first
      { scope: 'not.in.catalog', reason: 'not_in_catalog' },
      // not allowed for the agent and not justified: the agent check comes first
      { scope: 'crm.delete', reason: 'not_allowed_for_agent' },
      { scope: 'crm.write', reason: 'not_justified_by_user' },
    ]);
  });

  it('accepts any one of the justifying user scopes', () => {
    expect(narrowScopes(['crm.read'], tool, agentAllowed, ['crm.admin']).granted).toEqual(['crm.read']);
  });

  it('never treats a user token without scopes as everything', () => {
    const outcome = narrowScopes(['crm.read', 'crm.write'], tool, agentAllowed, []);
    expect(outcome.granted).toEqual([]);
    expect(outcome.dropped.map((d) => d.reason)).toEqual(['not_justified_by_user', 'not_justified_by_user']);
  });

  it('never grants a scope with no justifying user scope, whatever the user holds', () => {
    const outcome = narrowScopes(['crm.export'], tool, agentAllowed, ['crm.export', '*', 'crm.admin', '']);
    expect(outcome.dropped).toEqual([{ scope: 'crm.export', reason: 'not_justified_by_user' }]);
  });

  it('does not treat wildcards or prefixes in user scopes as matches', () => {
    for (const userScope of ['*', 'crm', 'crm.*', 'crm.rea', 'crm.read ', 'CRM.READ', 'openid']) {
      expect(narrowScopes(['crm.read'], tool, agentAllowed, [userScope]).granted).toEqual([]);
    }
  });

  it('compares scopes exactly: case, look-alikes and whitespace never match', () => {
    const requested = ['CRM.READ', 'crm.r\u0435ad', 'crm.read\u00a0', 'crm.read\t'];
    const outcome = narrowScopes(requested, tool, [...agentAllowed, ...requested], ['crm.read', ...requested]);
    expect(outcome.granted).toEqual([]);
    expect(outcome.dropped.every((d) => d.reason === 'not_in_catalog')).toBe(true);
  });

  it('keeps the request order and collapses duplicates', () => {
    const outcome = narrowScopes(['crm.write', 'crm.read', 'crm.write'], tool, agentAllowed, ['crm.write', 'crm.read']);
    expect(outcome.requested).toEqual(['crm.write', 'crm.read']);
    expect(outcome.granted).toEqual(['crm.write', 'crm.read']);
  });

  it('returns nothing for an empty request', () => {
    expect(narrowScopes([], tool, agentAllowed, ['crm.read'])).toEqual({ requested: [], granted: [], dropped: [] });
  });
});
