/**
 * Step `stage` (issue 18 §3): the agent's rollout stage applied to the decided grant (src/guardrails/stages/,
 * pure, plus a person's override from the stage store). read_only narrows the grant to read scopes;
 * shadow answers with what would have been granted (the declared action parsed, the budget peeked, nothing
 * minted or spent); supervised lets step `approval` gate every write scope. A store that cannot answer
 * refuses (fail closed).
 */
import { deny, isDenial } from '../../exchange/reasons.js';
import { parseAuthorizationDetails } from '../../guardrails/authorization-details/parse-authorization-details.js';
import { shadowDenial, type Guardrails } from '../../guardrails/guardrail-step.js';
import { defineStep, refuse } from '../pipeline/step.js';
import { singleValue } from './single-value.js';

export interface StageDeps {
  readonly guardrails: Guardrails;
}

export const stage = defineStep<StageDeps, 'grant' | 'agent' | 'tool' | 'form'>('stage', ['grant', 'agent', 'tool', 'form'], async (facts, req, deps) => {
  let staged;
  try {
    staged = await deps.guardrails.stage(facts.agent, facts.grant);
  } catch {
    return deny('state_unavailable', 'the rollout stage cannot be checked right now; try again later');
  }
  const established = staged.stage === 'autonomous' ? {} : { stage: staged.stage };
  if (staged.kind === 'refuse') return refuse(staged.denial, { established });
  if (staged.kind === 'shadow') {
    const details = parseAuthorizationDetails(singleValue(facts.form, 'authorization_details'), facts.tool);
    if (isDenial(details)) return refuse(details, { established });
    const peek = await deps.guardrails.budget({
      agent: facts.agent, grant: staged.grant, details: details?.details ?? [], requestId: facts.requestId, callerAddress: req.address, nowMs: facts.grant.iat * 1000,
    }, 'peek').catch(() => null);
    if (peek === null) return refuse(deny('state_unavailable', 'budgets cannot be checked right now; try again later'), { established });
    if (!peek.ok) return refuse(peek.denial, { established: { ...established, ...(peek.budget ? { budget: peek.budget } : {}) } });
    return refuse(shadowDenial(staged.grant), { established });
  }
  // Supervised: step `approval` reads the tool with the write scopes marked `approval: required`.
  return { ...established, grant: staged.grant, ...(staged.tool !== facts.tool ? { tool: staged.tool } : {}) };
});
