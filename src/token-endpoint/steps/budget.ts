/**
 * Step `budget` (issue 18 §2): the agent's budgets, reserved atomically for what is about to be minted
 * (src/guardrails/budgets/: one Redis script across replicas, or memory): one exchange, and the amounts the
 * request's `authorization_details` declare, per currency (parsed as step `approval` parsed them: the same
 * pure parser over the same parameter). Over a budget: 403 access_denied, the record names the budget. A
 * store that cannot answer refuses (fail closed).
 */
import { deny, isDenial } from '../../exchange/reasons.js';
import { parseAuthorizationDetails } from '../../guardrails/authorization-details/parse-authorization-details.js';
import type { Guardrails } from '../../guardrails/guardrail-step.js';
import { defineStep, refuse } from '../pipeline/step.js';
import { singleValue } from './single-value.js';

export interface BudgetDeps {
  readonly guardrails: Guardrails;
}

export const budget = defineStep<BudgetDeps, 'grant' | 'agent' | 'form'>('budget', ['grant', 'agent', 'form'], async (facts, req, deps) => {
  const details = parseAuthorizationDetails(singleValue(facts.form, 'authorization_details'), facts.grant.tool);
  if (isDenial(details)) return details;
  const spent = await deps.guardrails.budget({
    agent: facts.agent, grant: facts.grant, details: details?.details ?? [], requestId: facts.requestId,
    callerAddress: req.address, nowMs: facts.grant.iat * 1000,
  }, 'reserve').catch(() => null);
  if (spent === null) return deny('state_unavailable', 'budgets cannot be checked right now; try again later');
  if (!spent.ok) return refuse(spent.denial, spent.budget ? { established: { budget: spent.budget } } : {});
  return spent.claim ? { budgetClaim: spent.claim } : {};
});
