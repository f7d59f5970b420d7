import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../../src/state/memory-state.js';
import { createSourceLimiter } from '../../../src/token-endpoint/source-limit.js';
import { perSourceLimit } from '../../../src/token-endpoint/steps/per-source-limit.js';
import { httpRequest, refusalOf, runStep, START } from './step-kit.js';

describe('step per-source-limit', () => {
  it('without a configured limit it establishes nothing and refuses nothing', async () => {
    expect(await runStep(perSourceLimit, START, { now: () => 0 })).toEqual({});
  });

  it('over the limit: 429 source_rate_limited with Retry-After, per address', async () => {
    const sourceLimiter = createSourceLimiter({ limit: { limit: 2, windowMs: 60_000 }, state: new MemoryState() });
    const deps = { sourceLimiter, now: () => 1_000 };
    const a = httpRequest({ address: '192.0.2.1' });
    expect(await runStep(perSourceLimit, START, deps, a)).toEqual({});
    expect(await runStep(perSourceLimit, START, deps, a)).toEqual({});
    const refused = refusalOf(await runStep(perSourceLimit, START, deps, a));
    expect(refused?.denial).toMatchObject({ reason: 'source_rate_limited', error: 'temporarily_unavailable' });
    expect(refused?.headers).toEqual({ 'Retry-After': '1' });
    expect(await runStep(perSourceLimit, START, deps, httpRequest({ address: '192.0.2.2' }))).toEqual({});
  });
});
