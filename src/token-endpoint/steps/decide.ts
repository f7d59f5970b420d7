/**
 * Step `decide`: what may be issued, decided by the pure core (src/exchange/decide.ts): scopes narrowed to
 * what the tool, the agent and the user all allow, the lifetime bounded, the act chain built, key binding
 * and may_act checked. Deciding is kept apart from issuing: nothing is signed here (step `mint`).
 */
import { decide as decideExchange, type ExchangePolicy } from '../../exchange/decide.js';
import { isDenial } from '../../exchange/reasons.js';
import { defineStep } from '../pipeline/step.js';

export interface DecideDeps {
  readonly policy: ExchangePolicy;
  readonly now: () => number;
}

export const decide = defineStep<DecideDeps, 'request' | 'agent' | 'tool' | 'subject'>('decide', ['request', 'agent', 'tool', 'subject'], (facts, _req, deps) => {
  const decision = decideExchange({
    request: facts.request, agent: facts.agent, tool: facts.tool, subject: facts.subject, policy: deps.policy, nowMs: deps.now(),
    ...(facts.actor ? { actor: facts.actor } : {}),
    ...(facts.dpopJkt !== undefined ? { proofJkt: facts.dpopJkt } : {}),
  });
  return isDenial(decision) ? decision : { grant: decision };
});
