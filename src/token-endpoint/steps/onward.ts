/**
 * Step `onward` (issue 17): a tool identity (`kind: tool` in clients/) presents the broker token it received
 * and gets the user's credential at its upstream SaaS (src/upstream/onward/). It runs right after the
 * caller is authenticated and in good standing: for a tool identity it answers the request itself, so a tool
 * identity never takes the agent path; for an agent it does nothing (the agent path goes on) unless the agent
 * names a catalog upstream, which it may receive itself only where the tool says `deliver_to_agent: true`. The credential is answered, never recorded (fingerprints only).
 */
import { TOKEN_EXCHANGE_GRANT } from '../../domain/exchange.js';
import { deny, isDenial } from '../../exchange/reasons.js';
import { namedUpstream } from '../../upstream/onward/agent-delivery.js';
import { runOnwardExchange, type OnwardDeps } from '../../upstream/onward/onward-exchange.js';
import { defineStep, refuse } from '../pipeline/step.js';
import { checkRateLimits, type RateLimitDeps } from './rate-limit.js';

export interface OnwardStepDeps {
  /** Absent: this broker serves no onward exchange, and a tool identity is refused. */
  readonly onward?: OnwardDeps;
}

const SINGLE_VALUED = ['grant_type', 'subject_token', 'subject_token_type', 'resource', 'audience', 'scope'] as const;

export const onward = defineStep<OnwardStepDeps & RateLimitDeps, 'agent' | 'form'>('onward', ['agent', 'form'], async (facts, _req, deps) => {
  const { form } = facts;
  const single = (name: 'resource' | 'audience'): string | undefined => (typeof form[name] === 'string' ? form[name] : undefined);
  // An agent naming a catalog upstream asks for the SaaS credential itself: only where the tool's entry says
  // `deliver_to_agent: true` (agent-delivery.ts); any other agent request takes the agent path.
  const agentTarget = facts.agent.kind !== 'tool' && deps.onward
    ? namedUpstream({ resource: single('resource'), audience: single('audience') }, deps.onward.catalog())
    : undefined;
  if (facts.agent.kind !== 'tool' && agentTarget === undefined) return {};
  if (!deps.onward) return deny('tool_identity_without_upstream', 'this broker serves no onward exchange');
  const repeated = SINGLE_VALUED.filter((name) => Array.isArray(form[name]));
  if (repeated.length > 0) return deny('request_malformed', `${repeated.join(', ')} must not be provided twice`);
  const value = (name: (typeof SINGLE_VALUED)[number]): string | undefined => {
    const v = form[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  if (value('grant_type') !== TOKEN_EXCHANGE_GRANT) return deny('unsupported_grant_type', 'a tool identity uses only the token-exchange grant');
  // The caller's rate limits count onward exchanges too (per caller, and per caller and upstream or tool), before the
  // subject token is verified or the SaaS is asked: a tool identity, or an agent with deliver_to_agent, cannot
  // drive the SaaS authorization server faster than its limits allow. 429 with Retry-After, as on the agent path.
  // Keyed by a catalog value only (the agent's named upstream, or the tool identity's own tool), never by what
  // the request says: a caller cannot mint one counter per made-up resource.
  const limited = await checkRateLimits(deps.state, deps.rateLimits, facts.agent.clientId, `onward:${agentTarget ?? facts.agent.toolId ?? ''}`, deps.now());
  if (limited) return limited.reason === 'rate_limited' ? refuse(limited, { headers: { 'Retry-After': '1' } }) : limited;
  const outcome = await runOnwardExchange(facts.agent, {
    subjectToken: value('subject_token'), subjectTokenType: value('subject_token_type'),
    resource: value('resource'), audience: value('audience'), scope: value('scope'),
  }, deps.onward, agentTarget === undefined ? {} : { agentTarget });
  const learnt = {
    onward: outcome.record,
    ...(outcome.tool ? { tool: outcome.tool } : {}),
    ...(outcome.subject ? { subject: outcome.subject } : {}),
    ...(outcome.subjectFingerprint ? { subjectFingerprint: outcome.subjectFingerprint } : {}),
  };
  if (isDenial(outcome.result)) return refuse(outcome.result, { established: learnt });
  return { ...learnt, onward: { ...outcome.record, granted: true }, onwardAnswer: outcome.result.body };
});
