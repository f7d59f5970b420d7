/** Steps `stage` and `budget` (issue 18), called directly with plain data and in-memory stores. */
import { describe, expect, it } from 'vitest';
import type { Grant } from '../../../src/domain/exchange.js';
import { MemoryBudgetStore } from '../../../src/guardrails/budgets/memory-budget-store.js';
import { createGuardrails } from '../../../src/guardrails/guardrail-step.js';
import { MemoryStageStore, type StageStore } from '../../../src/guardrails/stages/stage-store.js';
import { createLogger } from '../../../src/log.js';
import { budget } from '../../../src/token-endpoint/steps/budget.js';
import { stage } from '../../../src/token-endpoint/steps/stage.js';
import { makeAgent, makeTool, NOW_MS } from '../../exchange/fixtures.js';
import { denialOf, refusalOf, runStep, START } from './step-kit.js';

const tool = makeTool();
const grant: Grant = {
  decision: 'granted', tool, subject: { iss: 'https://idp', sub: 'alice' }, act: { sub: 'agent-mail' },
  scopes: { requested: ['crm.read', 'crm.write'], granted: ['crm.read', 'crm.write'], dropped: [] },
  iat: Math.floor(NOW_MS / 1000), exp: Math.floor(NOW_MS / 1000) + 300, lifetimeBoundBy: 'tool_max_ttl', issuedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
};
function deps(stages: StageStore = new MemoryStageStore()) {
  return {
    guardrails: createGuardrails({
      budgets: new MemoryBudgetStore(() => NOW_MS), stages, record: () => Promise.resolve(), notify: () => Promise.resolve(),
      suspend: () => Promise.resolve(), log: createLogger('silent'),
    }),
  };
}
const facts = { ...START, grant, tool, form: {} };

describe('step stage', () => {
  it('autonomous: passes the grant on unchanged and records no stage', async () => {
    expect(await runStep(stage, { ...facts, agent: makeAgent() }, deps())).toEqual({ grant });
  });
  it('shadow: refuses with what would have been granted, the stage established for the record', async () => {
    const result = refusalOf(await runStep(stage, { ...facts, agent: { ...makeAgent(), stage: 'shadow' } }, deps()));
    expect(result?.denial).toMatchObject({ reason: 'stage_shadow', error: 'access_denied', scopes: { granted: ['crm.read', 'crm.write'] } });
    expect(result?.established).toEqual({ stage: 'shadow' });
  });
  it('a person\'s override wins over the file; an unreadable store refuses (fail closed)', async () => {
    const stages = new MemoryStageStore();
    await stages.set('agent-mail', { stage: 'read_only', by: 'oncall', reason: 'r', at: 1 });
    // No scope of the fixture tool is marked read: nothing remains.
    expect(denialOf(await runStep(stage, { ...facts, agent: makeAgent() }, deps(stages)))?.reason).toBe('stage_read_only');
    const broken = { get: () => Promise.reject(new Error('down')), set: () => Promise.resolve() };
    expect(denialOf(await runStep(stage, { ...facts, agent: makeAgent() }, deps(broken)))?.reason).toBe('state_unavailable');
  });
});

describe('step budget', () => {
  const agent = { ...makeAgent(), budgets: { overall: { exchangesPerHour: 1 }, tools: new Map(), onExceed: 'refuse' as const } };
  it('reserves, then refuses with the budget established for the record', async () => {
    const d = deps();
    expect(await runStep(budget, { ...facts, agent }, d)).toEqual({ budgetClaim: { exchanges: 0 } });
    const refused = refusalOf(await runStep(budget, { ...facts, agent }, d));
    expect(refused?.denial).toMatchObject({ reason: 'budget_exceeded', error: 'access_denied' });
    expect(refused?.established).toEqual({ budget: { name: 'agent-mail', metric: 'exchanges_per_hour', limit: 1, used: 1, requested: 1 } });
  });
  it('an agent without budgets passes with no claim', async () => {
    expect(await runStep(budget, { ...facts, agent: makeAgent() }, deps())).toEqual({});
  });
});
