/** fast-check generators for the decision core's inputs, over small universes so intersections are common. */
import fc from 'fast-check';
import type { Tool } from '../../src/domain/catalog.js';
import { makeTool } from './fixtures.js';

/** Tool scope names (some deliberately differing only in case). */
export const TOOL_SCOPE_NAMES = ['crm.read', 'crm.write', 'crm.delete', 'crm.export', 'CRM.read', 'crm.admin'] as const;
/** User scope names: some equal to tool scope names, some not. */
export const USER_SCOPE_NAMES = ['crm.read', 'crm.write', 'crm.admin', 'openid', 'profile', '*', 'crm'] as const;

const requestable = fc.constantFrom(...TOOL_SCOPE_NAMES, 'unknown.scope', 'crm.read\u00a0');

export const requestedScopes: fc.Arbitrary<string[]> = fc.array(requestable, { maxLength: 8 });
export const userScopes: fc.Arbitrary<string[]> = fc.uniqueArray(fc.constantFrom(...USER_SCOPE_NAMES), {
  maxLength: USER_SCOPE_NAMES.length,
});
export const agentAllowed: fc.Arbitrary<string[]> = fc.uniqueArray(
  fc.constantFrom(...TOOL_SCOPE_NAMES, 'unknown.scope'),
  { maxLength: 7 },
);

/** A tool whose scopes are a random subset of TOOL_SCOPE_NAMES, each justified by random user scopes. */
export const toolArb: fc.Arbitrary<Tool> = fc
  .record({
    scopes: fc.dictionary(
      fc.constantFrom(...TOOL_SCOPE_NAMES),
      fc.uniqueArray(fc.constantFrom(...USER_SCOPE_NAMES), { minLength: 1, maxLength: 3 }),
      { maxKeys: TOOL_SCOPE_NAMES.length },
    ),
    maxTtlSeconds: fc.integer({ min: 1, max: 172_800 }),
  })
  .map(({ scopes, maxTtlSeconds }) => makeTool({ scopes, maxTtlSeconds }));
