/**
 * Step `precheck`: the cheap policy checks before any token is verified (src/exchange/decide.ts `precheck`,
 * pure): the agent's status and grant, the one target tool (RFC 8707), the agent's registration for it,
 * its right to present an actor token.
 */
import type { Catalog } from '../../domain/catalog.js';
import { precheck as checkBeforeVerifying } from '../../exchange/decide.js';
import { isDenial } from '../../exchange/reasons.js';
import { defineStep } from '../pipeline/step.js';

export interface PrecheckDeps {
  readonly catalog: () => Catalog;
}

export const precheck = defineStep<PrecheckDeps, 'agent' | 'request'>('precheck', ['agent', 'request'], (facts, _req, deps) => {
  const checked = checkBeforeVerifying(facts.request, facts.agent, deps.catalog());
  return isDenial(checked) ? checked : { tool: checked.tool };
});
