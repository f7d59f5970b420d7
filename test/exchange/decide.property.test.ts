import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WEEKDAYS, type TimeWindow, type Tool } from '../../src/domain/catalog.js';
import { decide, precheck, type DecisionInput } from '../../src/exchange/decide.js';
import { isDenial } from '../../src/exchange/reasons.js';
import { currentWindow } from '../../src/exchange/time-windows.js';
import { agentAllowed, requestedScopes, toolArb, userScopes } from './arbitraries.js';
import { makeAgent, makeCatalog, makeRequest, makeSubject, makeTool, POLICY } from './fixtures.js';

const RUNS = { numRuns: 500 };

const hhmm = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.constantFrom(0, 30))
  .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const windowArb: fc.Arbitrary<TimeWindow> = fc.record({
  days: fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1, maxLength: 3 }),
  from: hhmm,
  to: hhmm,
  timeZone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
});
const windowsArb = fc.oneof(fc.constant([] as TimeWindow[]), fc.array(windowArb, { minLength: 1, maxLength: 2 }));
const clockMs = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2027, 0, 1) });

/** A tool with random scopes, TTL and windows (always id "crm"). */
const toolWithWindows: fc.Arbitrary<Tool> = fc
  .tuple(toolArb, windowsArb)
  .map(([tool, timeWindows]) => ({ ...tool, timeWindows }));

/** Everything random: agent status and registrations, the user's scopes, the request, the clock. */
const decisionArb: fc.Arbitrary<DecisionInput> = fc
  .record({
    tool: toolWithWindows,
    status: fc.constantFrom('active', 'active', 'active', 'suspended' as const),
    registeredForTool: fc.boolean(),
    allowed: agentAllowed,
    agentTtl: fc.integer({ min: 1, max: 172_800 }),
    requested: requestedScopes,
    user: userScopes,
    subjectExpOffset: fc.integer({ min: -600, max: 172_800 }),
    nowMs: clockMs,
  })
  .map((r) => ({
    request: makeRequest({ scopes: [...new Set(r.requested)] }),
    agent: makeAgent({
      status: r.status,
      tools: r.registeredForTool ? { crm: r.allowed, other: ['x'] } : { other: r.allowed },
      maxTtlSeconds: r.agentTtl,
    }),
    tool: r.tool,
    subject: makeSubject({ scopes: r.user, exp: Math.floor(r.nowMs / 1000) + r.subjectExpOffset }),
    policy: POLICY,
    nowMs: r.nowMs,
  }));

describe('decide: properties', () => {
  it('grants only requested ∩ tool catalog ∩ agent allow-list, each justified by the user', () => {
    fc.assert(
      fc.property(decisionArb, (input) => {
        const result = decide(input);
        if (isDenial(result)) return;
        const allowed = input.agent.tools.get(input.tool.id) ?? [];
        expect(result.scopes.granted.length).toBeGreaterThan(0);
        expect(result.scopes.granted.length).toBeLessThanOrEqual(input.request.scopes.length);
        for (const scope of result.scopes.granted) {
          expect(input.request.scopes).toContain(scope);
          expect(input.tool.scopes.has(scope)).toBe(true);
          expect(allowed).toContain(scope);
          const justifiedBy = input.tool.scopes.get(scope)?.justifiedBy ?? [];
          expect(justifiedBy.some((u) => input.subject.scopes.includes(u))).toBe(true);
        }
        const all = [...result.scopes.granted, ...result.scopes.dropped.map((d) => d.scope)];
        expect(new Set(all)).toEqual(new Set(input.request.scopes));
        expect(all).toHaveLength(new Set(all).size);
      }),
      RUNS,
    );
  });

  it('bounds exp by every bound, with exp > iat', () => {
    fc.assert(
      fc.property(decisionArb, (input) => {
        const result = decide(input);
        if (isDenial(result)) return;
        const now = Math.floor(input.nowMs / 1000);
        expect(result.iat).toBe(now);
        expect(result.exp).toBeGreaterThan(result.iat);
        expect(result.exp).toBeLessThanOrEqual(now + input.tool.maxTtlSeconds);
        expect(result.exp).toBeLessThanOrEqual(now + input.agent.maxTtlSeconds);
        expect(result.exp).toBeLessThanOrEqual(input.subject.exp);
        const position = currentWindow(input.tool.timeWindows, input.nowMs);
        expect(position.inside).toBe(true);
        if (position.inside && position.endsAtMs !== null) {
          expect(result.exp * 1000).toBeLessThanOrEqual(position.endsAtMs);
        }
      }),
      RUNS,
    );
  });

  it('always denies when the clock is outside every window', () => {
    fc.assert(
      fc.property(fc.array(windowArb, { minLength: 1, maxLength: 2 }), clockMs, (timeWindows, nowMs) => {
        // Everything else about the request is valid, so being outside is the only reason to refuse.
        const tool = makeTool({ timeWindows });
        const result = decide({
          request: makeRequest({ scopes: ['crm.read'] }),
          agent: makeAgent(),
          tool,
          subject: makeSubject({ exp: Math.floor(nowMs / 1000) + 3600 }),
          policy: POLICY,
          nowMs,
        });
        if (currentWindow(timeWindows, nowMs).inside) {
          expect(isDenial(result)).toBe(false);
        } else {
          expect(isDenial(result) && result.reason).toBe('outside_time_window');
        }
      }),
      RUNS,
    );
  });

  it('never grants for a suspended agent or a tool not in the agent list', () => {
    fc.assert(
      fc.property(decisionArb, (input) => {
        const result = decide(input);
        if (input.agent.status === 'suspended') {
          expect(isDenial(result) && result.reason).toBe('agent_suspended');
        } else if (!input.agent.tools.has(input.tool.id)) {
          expect(isDenial(result) && result.reason).toBe('agent_not_allowed_tool');
        }
      }),
      RUNS,
    );
  });

  it('never widens when the user holds more scopes, and never grants more with fewer', () => {
    fc.assert(
      fc.property(decisionArb, userScopes, (input, extra) => {
        const granted = (scopes: readonly string[]): readonly string[] => {
          const result = decide({ ...input, subject: { ...input.subject, scopes } });
          return isDenial(result) ? [] : result.scopes.granted;
        };
        const base = granted(input.subject.scopes);
        const more = granted([...input.subject.scopes, ...extra]);
        const fewer = granted(input.subject.scopes.filter((s) => !extra.includes(s)));
        for (const scope of base) expect(more).toContain(scope);
        for (const scope of fewer) expect(base).toContain(scope);
      }),
      RUNS,
    );
  });
});

describe('precheck: properties', () => {
  const catalog = makeCatalog([makeTool({ id: 'crm' }), makeTool({ id: 'billing' }), makeTool({ id: 'hr' })]);
  const toolIds = ['crm', 'billing', 'hr', 'unknown'] as const;

  it('never lets a suspended agent through, nor to a tool it is not registered for', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('active', 'suspended' as const),
        fc.uniqueArray(fc.constantFrom(...toolIds), { maxLength: 4 }),
        fc.array(fc.constantFrom(...toolIds), { maxLength: 2 }),
        fc.array(fc.constantFrom(...toolIds.map((id) => `https://${id}.example.com/api`)), { maxLength: 2 }),
        (status, registered, audiences, resources) => {
          const agent = makeAgent({ status, tools: Object.fromEntries(registered.map((id) => [id, ['x']])) });
          const result = precheck(makeRequest({ resources, audiences }), agent, catalog);
          if (isDenial(result)) return;
          expect(status).toBe('active');
          expect(registered).toContain(result.tool.id);
          expect(catalog.tools.get(result.tool.id)).toBe(result.tool);
        },
      ),
      RUNS,
    );
  });
});
