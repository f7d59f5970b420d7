import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../src/state/memory-state.js';
import { StateUnavailableError } from '../../../src/state/shared-state.js';
import { rateLimit } from '../../../src/token-endpoint/steps/rate-limit.js';
import { makeAgent, makeTool } from '../../exchange/fixtures.js';
import { denialOf, refusalOf, runStep, START } from './step-kit.js';

const facts = { ...START, agent: makeAgent(), tool: makeTool() };

describe('step rate-limit', () => {
  it('no limits configured: nothing counted, nothing refused', async () => {
    expect(await runStep(rateLimit, facts, { state: new MemoryState(), now: () => 0 })).toEqual({});
  });

  it('over the per-agent limit: 429 rate_limited with Retry-After: 1', async () => {
    const deps = { state: new MemoryState(), rateLimits: { perAgent: { limit: 1, windowMs: 60_000 } }, now: () => 1_000 };
    expect(await runStep(rateLimit, facts, deps)).toEqual({});
    const refused = refusalOf(await runStep(rateLimit, facts, deps));
    expect(refused?.denial).toMatchObject({ reason: 'rate_limited', error: 'temporarily_unavailable' });
    expect(refused?.headers).toEqual({ 'Retry-After': '1' });
  });

  it('over the per-agent-per-tool limit: rate_limited', async () => {
    const deps = { state: new MemoryState(), rateLimits: { perAgentTool: { limit: 1, windowMs: 60_000 } }, now: () => 1_000 };
    await runStep(rateLimit, facts, deps);
    expect(denialOf(await runStep(rateLimit, facts, deps))?.reason).toBe('rate_limited');
  });

  it('both limits: counted together, each against its own limit', async () => {
    const deps = { state: new MemoryState(), rateLimits: { perAgent: { limit: 3, windowMs: 60_000 }, perAgentTool: { limit: 1, windowMs: 60_000 } }, now: () => 1_000 };
    expect(await runStep(rateLimit, facts, deps)).toEqual({});
    expect(denialOf(await runStep(rateLimit, facts, deps))?.description).toBe('too many exchanges for this agent and tool; slow down');
    const otherTool = { ...facts, tool: { ...makeTool(), id: 'billing' } };
    expect(await runStep(rateLimit, otherTool, deps)).toEqual({});
    expect(denialOf(await runStep(rateLimit, otherTool, deps))?.description).toBe('too many exchanges for this agent; slow down');
  });

  it('the shared state unreachable: state_unavailable, fail closed', async () => {
    const state = new MemoryState();
    state.hit = () => Promise.reject(new StateUnavailableError('down'));
    const denial = denialOf(await runStep(rateLimit, facts, { state, rateLimits: { perAgent: { limit: 5, windowMs: 1000 } }, now: () => 0 }));
    expect(denial).toMatchObject({ reason: 'state_unavailable', error: 'temporarily_unavailable' });
  });
});
