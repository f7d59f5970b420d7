import { describe, expect, it } from 'vitest';
import { precheck } from '../../../src/token-endpoint/steps/precheck.js';
import { makeAgent, makeCatalog, makeRequest, makeTool } from '../../exchange/fixtures.js';
import { denialOf, runStep, START } from './step-kit.js';

const crm = makeTool();
const deps = { catalog: () => makeCatalog([crm]) };

describe('step precheck', () => {
  it('establishes the one target tool', async () => {
    expect(await runStep(precheck, { ...START, agent: makeAgent(), request: makeRequest({ resources: [crm.resource] }) }, deps)).toEqual({ tool: crm });
  });

  it('an unknown resource, a suspended agent, an agent not registered for the tool: refused', async () => {
    expect(denialOf(await runStep(precheck, { ...START, agent: makeAgent(), request: makeRequest({ resources: ['https://other.example/'] }) }, deps))?.reason).toBe('resource_unknown');
    expect(denialOf(await runStep(precheck, { ...START, agent: makeAgent({ status: 'suspended' }), request: makeRequest({ resources: [crm.resource] }) }, deps))?.reason).toBe('agent_suspended');
    expect(denialOf(await runStep(precheck, { ...START, agent: makeAgent({ tools: { mail: ['m'] } }), request: makeRequest({ resources: [crm.resource] }) }, deps))?.reason).toBe('agent_not_allowed_tool');
  });
});
