/**
 * The approval gate, pure (issue 18): whatever the catalog marks, whatever the agent asks, describes and
 * names as its approval, a gated exchange is only ever let through to minting for an approved, unexpired
 * approval bound to the same agent, user, tool, scopes and canonical action; ungated exchanges never wait.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionType, Tool, ToolScope } from '../../../src/domain/catalog.js';
import { isDenial } from '../../../src/exchange/reasons.js';
import { argumentsDigest } from '../../../src/guardrails/authorization-details/arguments-digest.js';
import { parseAuthorizationDetails, type ParsedAuthorizationDetails } from '../../../src/guardrails/authorization-details/parse-authorization-details.js';
import { sameBinding, type Approval, type ApprovalStatus } from '../../../src/guardrails/approvals/approval.js';
import { approvalTriggers, bindingOf, decideApproval } from '../../../src/guardrails/approvals/decide-approval.js';

const SCOPES = ['pay.read', 'pay.create', 'pay.admin'] as const;
const NOW = 1_800_000_000_000;

function tool(gatedScopes: readonly string[], rule: ActionType['approval'], requireDetailsFor: readonly string[]): Tool {
  const scopes = new Map<string, ToolScope>(SCOPES.map((name) => [name, {
    name, description: name, risk: 'high', justifiedBy: [name], ...(gatedScopes.includes(name) ? { approval: 'required' as const } : {}),
  }]));
  const payment: ActionType = {
    name: 'payment', actions: ['create_payment'], scopes: requireDetailsFor,
    fields: new Map([['amount', { name: 'amount', type: 'amount', required: true }], ['currency', { name: 'currency', type: 'currency', required: true }]]),
    ...(rule ? { approval: rule } : {}),
  };
  return { id: 'pay', resource: 'https://pay.example/api', description: 'pay', scopes, maxTtlSeconds: 300, timeWindows: [], source: 'test', actionTypes: new Map([['payment', payment]]) };
}

const ruleArb = fc.oneof(
  fc.constant(undefined),
  fc.constant({ kind: 'always' as const }),
  fc.record({ EUR: fc.integer({ min: 0, max: 500_000 }) }).map((t) => ({ kind: 'amount_above' as const, thresholdsMinor: new Map([['EUR', t.EUR]]) })),
);

const detailsArb = fc.option(fc.record({
  minor: fc.integer({ min: 0, max: 1_000_000 }),
  currency: fc.constantFrom('EUR', 'USD'),
  payee: fc.string({ maxLength: 5 }),
}), { nil: undefined });

function parsed(t: Tool, d: { minor: number; currency: string; payee: string } | undefined): ParsedAuthorizationDetails | undefined {
  if (d === undefined) return undefined;
  const amount = `${String(Math.floor(d.minor / 100))}.${String(d.minor % 100).padStart(2, '0')}`;
  const result = parseAuthorizationDetails(JSON.stringify([{ type: 'payment', actions: ['create_payment'], arguments_sha256: argumentsDigest({ payee: d.payee, amount }), amount, currency: d.currency }]), t);
  if (result === undefined || isDenial(result)) throw new Error('the arbitrary must describe a valid action');
  return result;
}

const rarely = fc.constantFrom(false, false, false, false, true);
const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'rejected', 'minted'];

describe('decideApproval (property)', () => {
  it('a gated exchange is never let through without an approved, unexpired approval for exactly this binding', () => {
    fc.assert(fc.property(
      fc.subarray([...SCOPES]), fc.subarray([...SCOPES], { minLength: 1 }), ruleArb, fc.subarray([...SCOPES]), detailsArb,
      fc.option(fc.record({
        status: fc.constantFrom(...STATUSES),
        expiresIn: fc.integer({ min: -600_000, max: 600_000 }),
        // Mostly the same binding, so the approved / expired corners are reached often.
        other: fc.record({ agent: rarely, user: rarely, scopes: rarely, details: fc.option(detailsArb.filter((d) => d !== undefined), { nil: undefined, freq: 4 }) }),
        sameId: fc.boolean(),
      }), { nil: undefined }),
      (gated, granted, rule, requireFor, describedAs, named) => {
        const t = tool(gated, rule, requireFor);
        const details = parsed(t, describedAs);
        const input = { tool: t, grantedScopes: granted, details, agent: 'agent-1', user: { iss: 'https://idp', sub: 'alice' }, nowMs: NOW };
        const binding = bindingOf(input);
        let approval: Approval | undefined;
        if (named) {
          const otherDetails = named.other.details === undefined ? details : parsed(t, named.other.details);
          approval = {
            id: 'apr_x', status: named.status, intervalSeconds: 5, nextPollAtMs: NOW, createdAtMs: NOW - 1000, expiresAtMs: NOW + named.expiresIn,
            requestId: 'r', resource: t.resource, details: [], triggers: [], approvers: { user: true, roles: {} },
            binding: {
              ...binding,
              agent: named.other.agent ? 'agent-2' : binding.agent,
              user: named.other.user ? { iss: 'https://idp', sub: 'mallory' } : binding.user,
              scopes: named.other.scopes ? [...binding.scopes, 'pay.extra'] : binding.scopes,
              detailsDigest: otherDetails?.digest ?? '',
            },
          };
        }
        const outcome = decideApproval({ ...input, ...(named ? { approvalId: named.sameId ? 'apr_x' : 'apr_y', approval: approval ?? null } : {}) });
        const triggers = approvalTriggers(t, granted, details);
        if (isDenial(outcome)) return;
        if (outcome.outcome === 'not_gated') {
          expect(triggers).toEqual([]);
          return;
        }
        // Gated from here on.
        expect(triggers.length).toBeGreaterThan(0);
        expect(details).toBeDefined();
        if (outcome.outcome === 'approved') {
          expect(named?.sameId).toBe(true);
          expect(outcome.approval.status).toBe('approved');
          expect(sameBinding(outcome.approval.binding, binding)).toBe(true);
          expect(NOW).toBeLessThan(outcome.approval.expiresAtMs);
        }
        if (outcome.outcome === 'request') expect(named).toBeUndefined();
      },
    ), { numRuns: 2000 });
  });

  it('fires only where the catalog says: no gated scope and no matching rule means no approval', () => {
    const t = tool([], { kind: 'amount_above', thresholdsMinor: new Map([['EUR', 100_000]]) }, ['pay.create']);
    const small = parsed(t, { minor: 100_000, currency: 'EUR', payee: 'a' });
    expect(decideApproval({ tool: t, grantedScopes: ['pay.create'], details: small, agent: 'a', user: { iss: 'i', sub: 's' }, nowMs: NOW })).toEqual({ outcome: 'not_gated' });
    const large = parsed(t, { minor: 100_001, currency: 'EUR', payee: 'a' });
    expect(decideApproval({ tool: t, grantedScopes: ['pay.create'], details: large, agent: 'a', user: { iss: 'i', sub: 's' }, nowMs: NOW })).toMatchObject({ outcome: 'request' });
    // A currency the rule does not list: gated (fail safe).
    const dollars = parsed(t, { minor: 1, currency: 'USD', payee: 'a' });
    expect(decideApproval({ tool: t, grantedScopes: ['pay.create'], details: dollars, agent: 'a', user: { iss: 'i', sub: 's' }, nowMs: NOW })).toMatchObject({ outcome: 'request' });
    // A scope whose tokens must name their action, asked without one.
    expect(decideApproval({ tool: t, grantedScopes: ['pay.create'], details: undefined, agent: 'a', user: { iss: 'i', sub: 's' }, nowMs: NOW }))
      .toMatchObject({ reason: 'authorization_details_required', error: 'invalid_authorization_details' });
    expect(decideApproval({ tool: t, grantedScopes: ['pay.read'], details: undefined, agent: 'a', user: { iss: 'i', sub: 's' }, nowMs: NOW })).toEqual({ outcome: 'not_gated' });
  });
});
