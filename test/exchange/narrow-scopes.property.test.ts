import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Tool } from '../../src/domain/catalog.js';
import { narrowScopes } from '../../src/exchange/narrow-scopes.js';
import { agentAllowed, requestedScopes, toolArb, userScopes } from './arbitraries.js';

const RUNS = { numRuns: 1000 };

function isJustified(scope: string, tool: Tool, user: readonly string[]): boolean {
  return tool.scopes.get(scope)?.justifiedBy.some((u) => user.includes(u)) ?? false;
}

describe('narrowScopes: properties', () => {
  it('grants only requested ∩ tool catalog ∩ agent allow-list, each justified by a user scope', () => {
    fc.assert(
      fc.property(requestedScopes, toolArb, agentAllowed, userScopes, (requested, tool, allowed, user) => {
        const { granted } = narrowScopes(requested, tool, allowed, user);
        for (const scope of granted) {
          expect(requested).toContain(scope);
          expect(tool.scopes.has(scope)).toBe(true);
          expect(allowed).toContain(scope);
          expect(isJustified(scope, tool, user)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('partitions the request: granted ∪ dropped = requested, disjoint, one correct reason each', () => {
    fc.assert(
      fc.property(requestedScopes, toolArb, agentAllowed, userScopes, (requested, tool, allowed, user) => {
        const outcome = narrowScopes(requested, tool, allowed, user);
        const droppedScopes = outcome.dropped.map((d) => d.scope);
        expect(new Set([...outcome.granted, ...droppedScopes])).toEqual(new Set(requested));
        expect(outcome.granted.length + droppedScopes.length).toBe(new Set(requested).size);
        for (const { scope, reason } of outcome.dropped) {
          const expected = !tool.scopes.has(scope)
            ? 'not_in_catalog'
            : !allowed.includes(scope)
              ? 'not_allowed_for_agent'
              : 'not_justified_by_user';
          expect(reason).toBe(expected);
          expect(isJustified(scope, tool, user) && allowed.includes(scope)).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('never widens, and keeps request order', () => {
    fc.assert(
      fc.property(requestedScopes, toolArb, agentAllowed, userScopes, (requested, tool, allowed, user) => {
        const { granted } = narrowScopes(requested, tool, allowed, user);
        expect(granted.length).toBeLessThanOrEqual(requested.length);
        const positions = granted.map((scope) => requested.indexOf(scope));
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
      }),
      RUNS,
    );
  });

  it('is monotonic in the user scopes: more never removes a grant, fewer never adds one', () => {
    fc.assert(
      fc.property(
        requestedScopes,
        toolArb,
        agentAllowed,
        userScopes,
        userScopes,
        (requested, tool, allowed, user, extra) => {
          const base = narrowScopes(requested, tool, allowed, user).granted;
          const more = narrowScopes(requested, tool, allowed, [...user, ...extra]).granted;
          const fewer = narrowScopes(requested, tool, allowed, user.filter((s) => !extra.includes(s))).granted;
          for (const scope of base) expect(more).toContain(scope);
          for (const scope of fewer) expect(base).toContain(scope);
        },
      ),
      RUNS,
    );
  });

  it('grants nothing when the user token carries no scopes', () => {
    fc.assert(
      fc.property(requestedScopes, toolArb, agentAllowed, (requested, tool, allowed) => {
        expect(narrowScopes(requested, tool, allowed, []).granted).toEqual([]);
      }),
      RUNS,
    );
  });
});
