import { describe, expect, it } from 'vitest';
import { buildCatalog } from '../../../src/config/load-catalog.js';
import { MemoryState } from '../../../src/state/memory-state.js';
import { onward } from '../../../src/token-endpoint/steps/onward.js';
import { UpstreamCredentialCache } from '../../../src/upstream/credential-cache.js';
import type { OnwardDeps } from '../../../src/upstream/onward/onward-exchange.js';
import { makeAgent } from '../../exchange/fixtures.js';
import { denialOf, refusalOf, runStep, START } from './step-kit.js';

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const toolIdentity = { ...makeAgent({ clientId: 'accounts-tool', tools: {} }), kind: 'tool' as const };
const form = { grant_type: TE, subject_token: 'not-a-broker-token', subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', resource: 'https://saas.example/api' };

function onwardDeps(): { deps: OnwardDeps; verified: () => number } {
  let verified = 0;
  const deps: OnwardDeps = {
    brokerIssuer: 'https://broker.example',
    catalog: () => buildCatalog([]),
    verifyBrokerToken: () => { verified += 1; return Promise.resolve(undefined); },
    state: new MemoryState(),
    connectorFor: () => Promise.resolve(undefined),
    cache: new UpstreamCredentialCache(),
    now: () => 1_000,
    timeoutMs: 1_000,
  };
  return { deps, verified: () => verified };
}

describe('step onward', () => {
  it('an agent naming no upstream passes through: nothing counted, nothing verified', async () => {
    const { deps, verified } = onwardDeps();
    const state = new MemoryState();
    const out = await runStep(onward, { ...START, agent: makeAgent(), form: { grant_type: TE, resource: 'https://crm.example' } }, { onward: deps, state, rateLimits: { perAgent: { limit: 1, windowMs: 60_000 } }, now: () => 1_000 });
    expect(out).toEqual({});
    expect(verified()).toBe(0);
  });

  it('a tool identity over its rate limit: 429 rate_limited with Retry-After, before the subject token is verified or the SaaS asked', async () => {
    const { deps, verified } = onwardDeps();
    const stepDeps = { onward: deps, state: new MemoryState(), rateLimits: { perAgent: { limit: 1, windowMs: 60_000 } }, now: () => 1_000 };
    // Within the limit the request reaches the onward exchange (refused there: this catalog has no upstream).
    const first = denialOf(await runStep(onward, { ...START, agent: toolIdentity, form }, stepDeps));
    expect(first?.reason).toBe('tool_identity_without_upstream');
    const before = verified();
    const second = refusalOf(await runStep(onward, { ...START, agent: toolIdentity, form }, stepDeps));
    expect(second?.denial).toMatchObject({ reason: 'rate_limited', error: 'temporarily_unavailable' });
    expect(second?.headers).toEqual({ 'Retry-After': '1' });
    expect(verified()).toBe(before);
  });

  it('the per-tool counter is keyed by the catalog, not by the request: made-up resources share one counter', async () => {
    const { deps } = onwardDeps();
    const state = new MemoryState();
    const stepDeps = { onward: deps, state, rateLimits: { perAgentTool: { limit: 1, windowMs: 60_000 } }, now: () => 1_000 };
    await runStep(onward, { ...START, agent: toolIdentity, form: { ...form, resource: 'https://made-up-1.example' } }, stepDeps);
    const second = denialOf(await runStep(onward, { ...START, agent: toolIdentity, form: { ...form, resource: 'https://made-up-2.example' } }, stepDeps));
    expect(second).toMatchObject({ reason: 'rate_limited' });
  });

  it('the shared state unreachable: state_unavailable (fail closed), nothing verified', async () => {
    const { deps, verified } = onwardDeps();
    const state = new MemoryState();
    state.hit = () => Promise.reject(new Error('down'));
    const denial = denialOf(await runStep(onward, { ...START, agent: toolIdentity, form }, { onward: deps, state, rateLimits: { perAgent: { limit: 5, windowMs: 1_000 } }, now: () => 1_000 }));
    expect(denial).toMatchObject({ reason: 'state_unavailable' });
    expect(verified()).toBe(0);
  });
});
