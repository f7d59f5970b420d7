import { describe, expect, it } from 'vitest';
import { buildActChain, chainActors } from '../../src/exchange/act-chain.js';
import { isDenial, type DenialReason } from '../../src/exchange/reasons.js';
import { nestedAct } from './fixtures.js';

const AGENT = 'agent-mail';
const MAX = 4;

function reasonOf(existing: unknown, maxDepth = MAX): DenialReason | 'ok' {
  const result = buildActChain(AGENT, existing, maxDepth);
  return isDenial(result) ? result.reason : 'ok';
}

describe('buildActChain', () => {
  it('makes the agent the only actor when the subject token has no act', () => {
    expect(buildActChain(AGENT, undefined, MAX)).toEqual({ sub: AGENT });
  });

  it('nests an existing chain inside the agent, never dropping it', () => {
    const existing = { sub: 'orchestrator', iss: 'https://broker.example.com', act: { sub: 'planner' } };
    expect(buildActChain(AGENT, existing, MAX)).toEqual({
      sub: AGENT,
      act: { sub: 'orchestrator', iss: 'https://broker.example.com', act: { sub: 'planner' } },
    });
  });

  it('keeps identity claims only, at every level', () => {
    const existing = {
      sub: 'orchestrator',
      client_id: 'orchestrator-client',
      exp: 9_999_999_999,
      aud: 'https://crm.example.com/api',
      scope: 'crm.admin',
      may_act: { sub: 'anyone' },
      cnf: { jkt: 'x' },
      act: { sub: 'planner', iss: 'https://idp.example.com', exp: 1, aud: ['a'], roles: ['admin'] },
    };
    expect(buildActChain(AGENT, existing, MAX)).toEqual({
      sub: AGENT,
      act: {
        sub: 'orchestrator',
        client_id: 'orchestrator-client',
        act: { sub: 'planner', iss: 'https://idp.example.com' },
      },
    });
  });

  it('does not share structure with the input', () => {
    const existing = { sub: 'orchestrator', act: { sub: 'planner' } };
    const result = buildActChain(AGENT, existing, MAX);
    existing.act.sub = 'tampered';
    expect(!isDenial(result) && result.act?.act?.sub).toBe('planner');
  });

  it('treats an act key holding undefined as no nested act', () => {
    expect(buildActChain(AGENT, { sub: 'orchestrator', act: undefined }, MAX)).toEqual({
      sub: AGENT,
      act: { sub: 'orchestrator' },
    });
  });

  const malformed: readonly (readonly [string, unknown])[] = [
    ['null', null],
    ['an array', [{ sub: 'orchestrator' }]],
    ['an empty array', []],
    ['a number', 42],
    ['a string', 'orchestrator'],
    ['a boolean', false],
    ['an empty object', {}],
    ['an empty sub', { sub: '' }],
    ['a numeric sub', { sub: 7 }],
    ['an object sub', { sub: { sub: 'x' } }],
    ['a numeric iss', { sub: 'orchestrator', iss: 1 }],
    ['an empty iss', { sub: 'orchestrator', iss: '' }],
    ['a null client_id', { sub: 'orchestrator', client_id: null }],
    ['a nested null act', { sub: 'orchestrator', act: null }],
    ['a nested array act', { sub: 'orchestrator', act: [{ sub: 'planner' }] }],
    ['a nested string act', { sub: 'orchestrator', act: 'planner' }],
    ['a nested act without sub', { sub: 'orchestrator', act: { iss: 'https://idp.example.com' } }],
    ['a class instance', new Date(0)],
    ['a map', new Map([['sub', 'orchestrator']])],
  ];

  it.each(malformed)('refuses %s as act', (_name, existing) => {
    const result = buildActChain(AGENT, existing, MAX);
    expect(isDenial(result) && result.reason).toBe('act_chain_malformed');
    expect(isDenial(result) && result.error).toBe('invalid_request');
  });

  it('accepts a chain exactly at the depth cap and refuses one more', () => {
    expect(reasonOf(nestedAct(MAX - 1))).toBe('ok');
    expect(reasonOf(nestedAct(MAX))).toBe('act_chain_too_deep');
    expect(reasonOf(undefined, 1)).toBe('ok');
    expect(reasonOf({ sub: 'orchestrator' }, 1)).toBe('act_chain_too_deep');
  });

  it('refuses everything when the cap leaves no room for the agent itself', () => {
    expect(reasonOf(undefined, 0)).toBe('act_chain_too_deep');
    expect(reasonOf(undefined, Number.NaN)).toBe('act_chain_too_deep');
  });

  it('refuses a 10,000-deep chain quickly and without overflowing the stack', () => {
    const hostile = nestedAct(10_000);
    const started = performance.now();
    expect(reasonOf(hostile)).toBe('act_chain_too_deep');
    expect(reasonOf(hostile, 1_000_000)).toBe('ok');
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('stops at the depth cap even when the chain is malformed further down', () => {
    const deep = { sub: 'a', act: { sub: 'b', act: { sub: 'c', act: { sub: 'd', act: 'garbage' } } } };
    expect(reasonOf(deep)).toBe('act_chain_too_deep');
    expect(reasonOf(deep, 100)).toBe('act_chain_malformed');
  });

  it('terminates on a cyclic object', () => {
    const cyclic: Record<string, unknown> = { sub: 'loop' };
    cyclic.act = cyclic;
    expect(reasonOf(cyclic, 1_000_000)).toBe('act_chain_repeated_actor');
    expect(reasonOf(cyclic, 2)).toBe('act_chain_too_deep');
  });

  describe('repeated actors', () => {
    it('refuses a chain the agent is already in, at any depth', () => {
      expect(reasonOf({ sub: AGENT })).toBe('act_chain_repeated_actor');
      expect(reasonOf({ sub: 'orchestrator', act: { sub: AGENT } })).toBe('act_chain_repeated_actor');
      expect(reasonOf({ sub: AGENT, iss: 'https://idp.example.com' })).toBe('act_chain_repeated_actor');
    });

    it('refuses a repeat within the existing chain', () => {
      expect(reasonOf({ sub: 'planner', act: { sub: 'orchestrator', act: { sub: 'planner' } } })).toBe(
        'act_chain_repeated_actor',
      );
      expect(reasonOf({ sub: 'planner', iss: 'https://a.example', act: { sub: 'planner' } })).toBe(
        'act_chain_repeated_actor',
      );
      expect(
        reasonOf({ sub: 'planner', iss: 'https://a.example', act: { sub: 'planner', iss: 'https://a.example' } }),
      ).toBe('act_chain_repeated_actor');
    });

    it('tells apart the same sub from two different issuers', () => {
      expect(
        reasonOf({ sub: 'planner', iss: 'https://a.example', act: { sub: 'planner', iss: 'https://b.example' } }),
      ).toBe('ok');
    });

    it('compares sub exactly', () => {
      expect(reasonOf({ sub: 'Agent-Mail', act: { sub: 'agent-mail ' } })).toBe('ok');
    });

    it('does not name the actor in the description', () => {
      const result = buildActChain(AGENT, { sub: 'orchestrator', act: { sub: AGENT } }, MAX);
      expect(isDenial(result) && result.description).not.toContain(AGENT);
    });
  });
});

describe('chainActors', () => {
  it('lists actors outermost first', () => {
    const chain = buildActChain(AGENT, { sub: 'orchestrator', act: { sub: 'planner' } }, MAX);
    if (isDenial(chain)) throw new Error(chain.reason);
    expect(chainActors(chain)).toEqual([AGENT, 'orchestrator', 'planner']);
  });

  it('lists a lone agent', () => {
    expect(chainActors({ sub: AGENT })).toEqual([AGENT]);
  });

  it('walks a very long chain without recursion', () => {
    const chain = buildActChain(AGENT, nestedAct(20_000), 1_000_000);
    if (isDenial(chain)) throw new Error(chain.reason);
    const actors = chainActors(chain);
    expect(actors).toHaveLength(20_001);
    expect(actors[20_000]).toBe('actor-20000');
  });
});
